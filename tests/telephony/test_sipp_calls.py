"""SIPp, a real SIP peer, calls the agent over loopback: it streams a real question as G.711,
the agent's RTP answer comes back, and every way a call can end ends it cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import jiwer
import pytest

from bench.measure import words
from bench.sipp import Ear, Scenario, run_sipp, write_ulaw
from tests.telephony.conftest import CORPUS, sip_config, sip_endpoint
from voice.audio import read_wav
from voice.providers.registry import Models
from voice.server.sip_calls import SipCalls

pytestmark = pytest.mark.slow

QUESTION = "weather-question.wav"  # "What is the weather in Paris?", 2.6 s


def question(tmp_path: Path) -> Path:
    return write_ulaw(read_wav(CORPUS / QUESTION), tmp_path / "question.ulaw")


async def call(
    endpoint: SipCalls, scenario: Scenario, tmp_path: Path, timeout_s: float = 60
) -> tuple[int, str, Ear]:
    ear = await Ear().open()
    try:
        code, log = await run_sipp(
            scenario, (endpoint.host, endpoint.port), [ear.port], tmp_path, timeout_s=timeout_s
        )
    finally:
        ear.close()
    for _ in range(200):  # the agent's side of the hang-up finishes its turn first
        if not endpoint.active:
            break
        await asyncio.sleep(0.05)
    return code, log, ear


def test_a_phone_call_hears_the_question_and_the_caller_hears_the_answer(
    models: Models, tmp_path: Path
) -> None:
    async def main() -> None:
        async with sip_endpoint(sip_config(), models) as endpoint:
            scenario = Scenario(audio=question(tmp_path), talk_ms=9_000)
            code, log, ear = await call(endpoint, scenario, tmp_path)
            assert code == 0, log
            assert not endpoint.active
            (ended,) = endpoint.ended
            assert ended.ended_by == "caller"
            answered = [t for t in ended.turns if t.outcome == "answered"]
            assert answered, [(t.transcript, t.outcome) for t in ended.turns]
            assert "weather" in answered[0].transcript.lower()
            assert len(ear.packets) >= 25, "less than 0.5 s of the answer came back"
            # what the caller heard is what the agent says it said
            heard = models.stt.transcribe(ear.audio())
            said = " ".join(t.reply for t in ended.turns if t.first_audio_ns is not None)
            assert jiwer.cer(words(said), words(heard)) <= 0.5, (said, heard)

    asyncio.run(main())
