"""Session lifecycle with test doubles for the four models (no real models: fast).

The doubles are named as such; the real models are exercised end to end in
tests/integration. Here the point is the session's own logic: speculation, commit, and ending
a call cleanly whatever state its turns are in.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np

from voice.agent.session import VoiceSession
from voice.audio import SAMPLE_RATE
from voice.config import STAGES, Config
from voice.providers.base import DialogueTurn
from voice.providers.registry import Models
from voice.providers.worker import ModelWorker
from voice.transports.loopback import LoopbackTransport


class AmplitudeVADDouble:
    name = "vad-double"

    class _Stream:
        def probability(self, frame: np.ndarray) -> float:
            return 1.0 if np.abs(frame.astype(np.int32)).max() > 1000 else 0.0

        def reset(self) -> None:
            return None

    def new_stream(self) -> AmplitudeVADDouble._Stream:
        return self._Stream()


class FixedSTTDouble:
    name = "stt-double"

    def transcribe(self, pcm: np.ndarray) -> str:
        time.sleep(0.02)
        return "hello there"


class FixedLLMDouble:
    name = "llm-double"

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        return None

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        for piece in ["Hi", " there,", " nice", " to", " meet", " you."]:
            time.sleep(0.01)
            yield piece


class ToneTTSDouble:
    name = "tts-double"
    sample_rate = 22050

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        t = np.arange(int(0.3 * self.sample_rate)) / self.sample_rate
        yield (3000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def doubles() -> Models:
    return Models(
        vad=AmplitudeVADDouble(),
        stt=FixedSTTDouble(),
        llm=FixedLLMDouble(),
        tts=ToneTTSDouble(),
        vad_worker=ModelWorker("vad"),
        stt_worker=ModelWorker("stt"),
        llm_worker=ModelWorker("llm"),
        tts_worker=ModelWorker("tts"),
    )


def speech(silence_before: float, voiced: float, silence_after: float) -> np.ndarray:
    t = np.arange(int(voiced * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    return np.concatenate(
        [
            np.zeros(int(silence_before * SAMPLE_RATE), np.int16),
            tone,
            np.zeros(int(silence_after * SAMPLE_RATE), np.int16),
        ]
    )


def run_session(pcm: np.ndarray, **transport_options: object):
    async def main():
        before = asyncio.all_tasks()
        transport = LoopbackTransport(pcm, **transport_options)  # type: ignore[arg-type]
        session = VoiceSession(transport, doubles(), Config())
        started = time.monotonic()
        result = await asyncio.wait_for(session.run(), 10)
        await asyncio.sleep(0)
        return result, transport, time.monotonic() - started, asyncio.all_tasks() - before

    return asyncio.run(main())


def test_a_turn_is_speculated_committed_answered_and_traced():
    result, transport, _, left = run_session(speech(0.2, 0.6, 0.0))
    assert not left
    assert [t.outcome for t in result.turns] == ["answered"]
    trace = result.turns[0]
    assert trace.transcript == "hello there"
    assert trace.reply == "Hi there, nice to meet you."
    assert set(trace.spans) == set(STAGES)
    # speculation: STT started before the turn was committed; audio only after the commit
    assert trace.spans["stt"].start_ns < trace.spans["endpoint"].end_ns
    assert transport.first_output_ns is not None
    assert transport.first_output_ns >= trace.spans["endpoint"].end_ns


def test_a_call_that_ends_during_a_speculative_turn_returns_promptly():
    """The caller hangs up 100 ms into a pause: the speculation can never be committed."""
    result, transport, elapsed, left = run_session(
        speech(0.2, 0.6, 0.1), finished=lambda: True, min_tail_ms=0
    )
    assert elapsed < 3, f"session.run() took {elapsed:.1f} s after the call ended"
    assert not left
    assert result.turns == [] and result.discarded == 1
    assert transport.output == []


def test_a_request_for_live_data_is_answered_honestly_without_the_llm(monkeypatch):
    """voice/replies/honesty.py: "what's the weather" gets one sentence saying the agent can't,
    spoken through the same chain, and the model is never asked."""
    monkeypatch.setattr(FixedSTTDouble, "transcribe", lambda self, pcm: "What's the weather?")
    asked: list[object] = []
    original = FixedLLMDouble.stream_reply

    def spy(self, history, cancel):
        asked.append(history)
        return original(self, history, cancel)

    monkeypatch.setattr(FixedLLMDouble, "stream_reply", spy)
    result, transport, _, left = run_session(speech(0.2, 0.6, 0.0))
    assert not left
    assert [t.outcome for t in result.turns] == ["answered"]
    assert result.turns[0].reply == "I'm sorry, I can't check the weather from here."
    assert asked == []
    assert transport.first_output_ns is not None


class LoggedLLMDouble(FixedLLMDouble):
    """The fixed reply, each token logged with the TTS's events in one timeline."""

    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        for piece in super().stream_reply(history, cancel):
            self.timeline.append(f"token{piece}")
            yield piece


class SlowFirstAudioTTSDouble(ToneTTSDouble):
    """A TTS that takes 0.15 s before a clause's audio, as Piper does for a whole clause."""

    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        self.timeline.append(f"tts start {text}")
        time.sleep(0.15)
        self.timeline.append(f"tts audio {text}")
        yield from super().synthesize(text, cancel)


def reply_timeline(pause_for_first_audio: bool) -> list[str]:
    timeline: list[str] = []
    models = doubles()
    models.llm = LoggedLLMDouble(timeline)
    models.tts = SlowFirstAudioTTSDouble(timeline)
    config = Config()
    config.llm.pause_for_first_audio = pause_for_first_audio

    async def main() -> None:
        session = VoiceSession(LoopbackTransport(speech(0.2, 0.6, 0.0)), models, config)
        await asyncio.wait_for(session.run(), 10)

    asyncio.run(main())
    return timeline


def test_the_reply_pauses_while_its_first_clause_is_synthesized():
    timeline = reply_timeline(pause_for_first_audio=True)
    start, audio = timeline.index("tts start Hi there,"), timeline.index("tts audio Hi there,")
    # one token may be under way when the clause reaches the TTS; then the reply waits
    assert len([e for e in timeline[start:audio] if e.startswith("token")]) <= 1
    assert timeline[-1] == "tts audio nice to meet you."  # the whole reply was still spoken
    # without the pause the reply's tokens run beside the synthesis (the test can fail)
    timeline = reply_timeline(pause_for_first_audio=False)
    start, audio = timeline.index("tts start Hi there,"), timeline.index("tts audio Hi there,")
    assert len([e for e in timeline[start:audio] if e.startswith("token")]) >= 2
