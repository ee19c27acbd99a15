"""baresip, a real softphone, calls the agent with a real question at 8 kHz; what it recorded
of the answer, transcribed, is what the agent says it said."""

from __future__ import annotations

import asyncio
from pathlib import Path

import jiwer
import pytest

from bench.baresip import call, heard, microphone, write_config
from bench.measure import words
from bench.sipp import free_udp_port
from tests.telephony.conftest import CORPUS, sip_config, sip_endpoint
from voice.audio import read_wav, to_internal
from voice.providers.registry import Models

pytestmark = pytest.mark.slow


def test_baresip_hears_the_answer_the_agent_gave(models: Models, tmp_path: Path) -> None:
    async def main() -> None:
        mic = microphone(read_wav(CORPUS / "weather-question.wav"), tmp_path / "mic.wav")
        folder = write_config(tmp_path / "baresip", mic, free_udp_port())
        async with sip_endpoint(sip_config(), models) as endpoint:
            code, log = await call(folder, (endpoint.host, endpoint.port), seconds=14)
            assert code == 0, log
            for _ in range(200):
                if not endpoint.active:
                    break
                await asyncio.sleep(0.05)
            (ended,) = endpoint.ended
            assert ended.ended_by == "caller", log
            answered = [t for t in ended.turns if t.first_audio_ns is not None]
            assert answered, [(t.transcript, t.outcome) for t in ended.turns]
            assert "weather" in answered[0].transcript.lower()
            recording = heard(folder)
            assert recording is not None and recording.duration_s > 0.5, log
            said = " ".join(t.reply for t in answered)
            heard_text = models.stt.transcribe(to_internal(recording))
            assert jiwer.cer(words(said), words(heard_text)) <= 0.5, (said, heard_text)

    asyncio.run(main())
