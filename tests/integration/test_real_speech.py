"""The whole agent on real recordings with the real default models, through the loopback
transport in real time, as `voice talk` runs it."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from bench.measure import wer
from voice.audio import read_wav, to_internal
from voice.config import STAGES
from voice.talk import talk, talk_async
from voice.transports.loopback import LoopbackTransport

pytestmark = pytest.mark.slow


def normalized_wer(reference: str, hypothesis: str) -> float:
    """The bench's own WER (punctuation ignored), so tests and reports agree."""
    error = wer(reference, hypothesis)
    assert error is not None, "empty reference text"
    return error


def case_audio(corpus, case) -> np.ndarray:
    pcm = to_internal(read_wav(corpus / case["audio"]))
    start = int(case.get("start_s", 0) * 16000)
    stop = int(case["stop_s"] * 16000) if "stop_s" in case else len(pcm)
    return pcm[start:stop]


def assert_spans_ordered(record: dict) -> None:
    spans = record["spans"]
    assert set(STAGES) <= set(spans), f"missing spans: {set(STAGES) - set(spans)}"
    for name in STAGES:
        assert spans[name]["end_ms"] >= spans[name]["start_ms"], name
    eos = record["eos_ms"]
    assert spans["endpoint"]["start_ms"] == eos
    chain = [
        spans["stt"]["start_ms"],
        spans["stt"]["end_ms"],
        spans["llm.ttft"]["start_ms"],
        spans["llm.ttft"]["end_ms"],
        spans["llm.clause"]["end_ms"],
        spans["tts.ttfb"]["start_ms"],
        spans["tts.ttfb"]["end_ms"],
        spans["transport"]["end_ms"],
    ]
    assert chain == sorted(chain), chain
    # audio only goes out once the turn is committed, and after the user stopped
    assert spans["transport"]["end_ms"] >= spans["endpoint"]["end_ms"]
    assert record["first_audio_ms"] == spans["transport"]["end_ms"]
    assert record["ttfa_ms"] == pytest.approx(record["first_audio_ms"] - eos, abs=0.2)
    assert record["ttfa_ms"] > 0


@pytest.mark.parametrize("case_id", ["weather-question", "lecture-a"])
def test_real_clip_is_heard_answered_and_traced(real_corpus, real_cases, config, models, case_id):
    case = real_cases[case_id]
    result = talk(case_audio(real_corpus, case), config, models)
    answered = [t for t in result.turns if t["outcome"] == "answered"]
    assert len(answered) == 1, result.turns
    record = answered[0]
    assert normalized_wer(case["text"], record["transcript"]) <= 0.2, record["transcript"]
    assert record["reply"].strip(), "the agent said nothing"
    assert_spans_ordered(record)
    assert "within" in record["budget"]

    # The bot audio holds speech, and Whisper hears the reply text in it.
    bot = result.bot_audio
    assert len(bot) > 16000 * 0.5
    speech = models.vad.speech_mask(bot)
    assert speech.mean() > 0.3, f"only {speech.mean():.0%} of the bot audio is speech"
    heard = models.stt.transcribe(bot)
    assert normalized_wer(record["reply"], heard) <= 0.35, (record["reply"], heard)


def test_one_failing_session_does_not_harm_another(real_corpus, real_cases, config, models):
    """A caller whose audio stream breaks mid-call ends its own session only."""

    class BrokenTransport(LoopbackTransport):
        async def audio_input(self):
            count = 0
            async for frame in super().audio_input():
                count += 1
                if count > 30:
                    raise ConnectionResetError("caller hung up badly")
                yield frame

    from voice.agent.session import VoiceSession

    pcm = case_audio(real_corpus, real_cases["weather-question"])

    async def main():
        broken = VoiceSession(BrokenTransport(pcm), models, config)
        healthy = talk_async(pcm, config, models)
        return await asyncio.gather(broken.run(), healthy, return_exceptions=True)

    broken_result, healthy_result = asyncio.run(main())
    assert isinstance(broken_result, ConnectionResetError)
    assert not isinstance(healthy_result, BaseException)
    assert [t["outcome"] for t in healthy_result.turns] == ["answered"]
    assert healthy_result.turns[0]["reply"]
