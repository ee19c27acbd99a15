"""Barge-in wired into the session, through the real loopback transport, with model doubles.

The doubles are named as such: the VAD fires on amplitude, the STT "hears" a phrase chosen by
the snippet's loudness, the TTS plays a tone per clause. What is real: the loopback's pacing,
the session, the barge-in controller and policy, turn scopes and the history. The same
behaviours run on the real models in tests/integration/test_bargein.py.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import tracemalloc
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from voice.agent.session import VoiceSession
from voice.audio import FRAME_NS, FRAME_SAMPLES, SAMPLE_RATE
from voice.bargein.controller import BargeIn
from voice.bargein.heard import heard_text
from voice.config import Config
from voice.pipeline.clauses import split_clauses
from voice.pipeline.frames import AudioFrame, TurnEvent, VADFrame
from voice.pipeline.turn_scope import TurnScope
from voice.providers.base import DialogueTurn
from voice.providers.registry import Models
from voice.providers.worker import ModelWorker
from voice.trace.turn_trace import TurnTrace
from voice.transports.loopback import LoopbackTransport, Overlay

REPLY = [
    "Once upon a time,",
    " a small fox lived by the river.",
    " Every morning it went down to drink,",
    " and every evening it came back home.",
    " One day it met an old heron.",
]


class AmplitudeVADDouble:
    name = "vad-double"

    class _Stream:
        def probability(self, frame: np.ndarray) -> float:
            return 1.0 if np.abs(frame.astype(np.int32)).max() > 1000 else 0.0

        def reset(self) -> None:
            return None

    def new_stream(self) -> AmplitudeVADDouble._Stream:
        return self._Stream()


class LoudnessSTTDouble:
    """Hears a phrase picked by the snippet's peak: loud = barge-in, medium = "yeah"."""

    name = "stt-double"

    def transcribe(self, pcm: np.ndarray) -> str:
        time.sleep(0.01)
        peak = int(np.abs(pcm.astype(np.int32)).max()) if len(pcm) else 0
        if peak >= 9000:
            return "Wait, stop, that's not it."
        if peak >= 6000:
            return "Yeah."
        if peak >= 4000:
            return "Tell me a story."
        return ""


class StoryLLMDouble:
    name = "llm-double"

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        return None

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        for piece in REPLY:
            if cancel.is_set():
                return
            time.sleep(0.005)
            yield piece


class ToneTTSDouble:
    """0.5 s of a quiet tone per clause."""

    name = "tts-double"
    sample_rate = 16000

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        t = np.arange(int(0.5 * self.sample_rate)) / self.sample_rate
        yield (2000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)


def doubles() -> Models:
    return Models(
        vad=AmplitudeVADDouble(),
        stt=LoudnessSTTDouble(),
        llm=StoryLLMDouble(),
        tts=ToneTTSDouble(),
        vad_worker=ModelWorker("vad"),
        stt_worker=ModelWorker("stt"),
        llm_worker=ModelWorker("llm"),
        tts_worker=ModelWorker("tts"),
    )


def tone(amplitude: int, seconds: float, lead_s: float = 0.1, tail_s: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    voiced = (amplitude * np.sin(2 * np.pi * 150 * t)).astype(np.int16)
    lead = np.zeros(int(lead_s * SAMPLE_RATE), dtype=np.int16)
    return np.concatenate([lead, voiced, np.zeros(int(tail_s * SAMPLE_RATE), dtype=np.int16)])


PRIMING = tone(5000, 0.8, lead_s=0.3)
CLAUSES = split_clauses("".join(REPLY))  # as the session's clause stage cuts the reply
FULL_REPLY_S = 0.5 * len(CLAUSES)


def run_session(
    overlay: np.ndarray, config: Config | None = None, after_s: float = 0.8, turns: int = 1
) -> tuple[VoiceSession, LoopbackTransport]:
    """Play the priming request with `overlay` over the answer; the call lasts until `turns`
    bot turns are over and the session is idle (or 15 s of tail pass)."""
    config = config or Config()
    sessions: list[VoiceSession] = []

    def finished() -> bool:
        return len(sessions[0].result.turns) >= turns and sessions[0].idle

    transport = LoopbackTransport(
        PRIMING, overlay=Overlay(overlay, after_output_s=after_s), finished=finished
    )
    sessions.append(VoiceSession(transport, doubles(), config))
    asyncio.run(asyncio.wait_for(sessions[0].run(), 30))
    return sessions[0], transport


def onset_ns(transport: LoopbackTransport, lead_s: float = 0.1) -> int:
    assert transport.overlay_start_ns is not None
    return transport.overlay_start_ns + round(lead_s * 1e9)


def test_a_barge_in_stops_the_bot_at_once_and_history_keeps_what_was_heard() -> None:
    session, transport = run_session(tone(10000, 1.0), turns=2)
    onset = onset_ns(transport)
    first = session.result.turns[0]
    assert first.outcome == "interrupted"
    second_audio = session.result.turns[1].first_audio_ns
    assert second_audio is not None
    last_of_first = max(t for t, _ in transport.output if t < second_audio)
    assert last_of_first - onset < 150 * 10**6  # silent within the target
    assert first.reply and first.reply != "".join(REPLY).strip()
    assert "".join(REPLY).startswith(first.reply[:10])
    assistant = next(t for t in session.history if t.role == "assistant")
    assert assistant.interrupted and assistant.text == first.reply
    decisions = [d["decision"] for d in first.bargein]
    assert decisions[:2] == ["pause", "interrupt"]
    assert first.bargein[1]["transcript"].startswith("Wait")
    # The caller's speech became the next user turn, answered in full.
    assert session.result.turns[1].transcript.startswith("Wait")
    assert session.result.turns[1].outcome == "answered"


def test_history_holds_exactly_the_words_of_the_frames_played() -> None:
    session, transport = run_session(tone(10000, 1.0), after_s=1.2)
    first = session.result.turns[0]
    first_audio = first.first_audio_ns
    assert first_audio is not None
    played = sum(len(pcm) for t, pcm in transport.output if t < onset_ns(transport) + 2 * 10**8)
    clauses = [(c, 8000) for c in CLAUSES]
    # Within one frame either way of what the transport took before the stop.
    candidates = {heard_text(clauses, played + d) for d in (-FRAME_SAMPLES, 0, FRAME_SAMPLES)}
    assert first.reply in candidates
    assert first.reply.startswith("Once upon a time, a small fox lived by the river. Every")


def test_a_backchannel_does_not_stop_the_bot() -> None:
    session, transport = run_session(tone(7000, 0.25))
    first = session.result.turns[0]
    assert first.outcome == "answered"
    assert first.reply == " ".join(c.strip() for c in REPLY)
    assert len(session.result.turns) == 1  # "yeah" never became a user turn
    assert next(d["decision"] for d in first.bargein) == "pause"
    assert first.resumed == 1
    assert 0 < first.paused_ms < 300
    assert len(transport.bot_audio()) >= FULL_REPLY_S * SAMPLE_RATE


def test_a_false_interruption_resumes_where_it_paused() -> None:
    session, transport = run_session(tone(2500, 0.14))  # a word-less knock the VAD takes
    first = session.result.turns[0]
    assert first.outcome == "answered"
    decisions = [(d["decision"], d["reason"]) for d in first.bargein]
    assert decisions[0][0] == "pause"
    assert decisions[-1] == ("resume", "too short to be an interruption")
    assert first.resumed == 1 and first.paused_ms > 0
    # Resumed where it paused: every frame of the reply went out, none twice.
    assert len(transport.bot_audio()) == pytest.approx(FULL_REPLY_S * SAMPLE_RATE, abs=640)


def test_interruptions_off_the_bot_finishes_and_answers_afterwards() -> None:
    config = Config()
    config.bargein.enabled = False
    session, _transport = run_session(tone(10000, 1.0), config, turns=2)
    first = session.result.turns[0]
    assert first.outcome == "answered"
    assert first.reply == " ".join(c.strip() for c in REPLY)
    assert [d["decision"] for d in first.bargein] == ["defer"]
    assert first.paused_ms == 0
    # The caller's words were not lost: they are answered once the reply is over.
    assert len(session.result.turns) == 2
    assert session.result.turns[1].transcript.startswith("Wait")


def test_a_reply_protected_by_the_session_is_heard_whole() -> None:
    sessions: list[VoiceSession] = []
    transport = LoopbackTransport(
        PRIMING,
        overlay=Overlay(tone(10000, 1.0), after_output_s=0.8),
        finished=lambda: len(sessions[0].result.turns) >= 2 and sessions[0].idle,
    )
    session = VoiceSession(transport, doubles(), Config())
    sessions.append(session)
    session.bargein.protect_next_reply()
    asyncio.run(asyncio.wait_for(session.run(), 30))
    assert session.result.turns[0].outcome == "answered"
    assert session.result.turns[1].transcript.startswith("Wait")


class PacelessTransportDouble:
    """Takes bot frames without real-time pacing (1 ms each), and records clears."""

    def __init__(self) -> None:
        self.sent = 0
        self.clears = 0

    def audio_input(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def send_audio(self, pcm: np.ndarray) -> int:
        await asyncio.sleep(0.001)
        self.sent += 1
        return time.monotonic_ns()

    async def clear_audio(self) -> None:
        self.clears += 1


def test_100_interruptions_with_model_doubles_leave_tasks_and_memory_flat() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        transport = PacelessTransportDouble()
        replayed: list[TurnEvent] = []

        async def replay(event: TurnEvent) -> None:
            replayed.append(event)

        worker = ModelWorker("stt")
        bargein = BargeIn(Config().bargein, transport, LoudnessSTTDouble(), worker, replay)
        loud = np.full(FRAME_SAMPLES, 12000, dtype=np.int16)
        tasks: list[int] = []
        memory: list[int] = []
        media = time.monotonic_ns()
        tracemalloc.start()
        for index in range(100):
            scope = TurnScope(index)
            out = bargein.playout(scope, TurnTrace(index, eos_ns=0))

            async def play(out=out) -> None:  # type: ignore[no-untyped-def]
                while True:
                    await out.send(np.zeros(FRAME_SAMPLES, dtype=np.int16))

            scope.spawn(play(), "playout")
            while not out.started:  # noqa: ASYNC110 - the playout task's first frame
                await asyncio.sleep(0.001)
            while not scope.cancelled:
                frame = VADFrame(AudioFrame(loud, media), 1.0)
                media += FRAME_NS
                await bargein.on_frame(frame)
                await asyncio.sleep(0.002)
            await scope.wait()
            bargein.turn_over(out)
            while bargein.pending_tasks:  # noqa: ASYNC110 - the quick STT task winding down
                await asyncio.sleep(0.001)
            if index % 10 == 9:
                gc.collect()
                tasks.append(len(asyncio.all_tasks()))
                memory.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
        await bargein.close()
        assert transport.clears >= 100
        return tasks, memory

    tasks, memory = asyncio.run(scenario())
    assert max(tasks) == min(tasks)  # nothing left running from 100 interrupted turns
    assert memory[-1] - memory[0] < 256 * 1024, memory
