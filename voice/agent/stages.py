"""The pipeline stages of the agent, each a thin async shell around one provider.

Every stage runs its model on the model's worker thread and records its span in the turn's
trace on the monotonic clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from functools import partial

import numpy as np

from voice.audio import SAMPLE_RATE, StreamResampler
from voice.pipeline.clauses import ClauseChunker
from voice.pipeline.frames import (
    AudioFrame,
    ClauseFrame,
    Frame,
    TokenFrame,
    TranscriptFrame,
    UserAudio,
    VADFrame,
)
from voice.pipeline.turn_scope import TurnScope
from voice.providers.base import (
    LLM,
    STT,
    TTS,
    DialogueTurn,
    LiveSTT,
    ToolCall,
    ToolLLM,
    ToolUse,
    VADStream,
)
from voice.providers.worker import ModelWorker
from voice.trace.turn_trace import TurnTrace


def now_ns() -> int:
    return time.monotonic_ns()


class VADStage:
    """Scores every input frame with the session's VAD stream."""

    name = "vad"

    def __init__(self, stream: VADStream, worker: ModelWorker) -> None:
        self._stream = stream
        self._worker = worker

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        async for frame in frames:
            if isinstance(frame, AudioFrame):
                probability = await self._worker.run(self._stream.probability, frame.pcm)
                yield VADFrame(frame, probability)


class STTStage:
    name = "stt"

    def __init__(
        self, stt: STT, worker: ModelWorker, trace: TurnTrace, live: LiveSTT | None = None
    ) -> None:
        self._stt = stt
        self._live = live  # a call's stream (voice/agent/live_stt.py): network, no model
        self._worker = worker
        self._trace = trace

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        async for frame in frames:
            if not isinstance(frame, UserAudio):
                continue
            self._trace.start("stt", now_ns())
            if self._live is not None:
                text = await asyncio.to_thread(self._live.transcribe_utterance, frame)
            else:
                text = await self._worker.run(self._stt.transcribe, frame.pcm)
            self._trace.end("stt", now_ns())
            self._trace.transcript = text
            if text.strip():
                yield TranscriptFrame(text, now_ns())


class LLMStage:
    name = "llm"

    def __init__(
        self,
        llm: LLM,
        worker: ModelWorker,
        history: Sequence[DialogueTurn],
        scope: TurnScope,
        trace: TurnTrace,
        report_end_of_turn: Callable[[str, float | None], None] | None = None,
        fixed_reply: Callable[[str], str | None] | None = None,
        tool_use: ToolUse | None = None,
        pause_for_first_audio: bool = False,
    ) -> None:
        self._llm = llm
        # Between tokens, wait while the first clause is synthesized: on 2 cores the TTS then
        # runs alone, and the rest of the reply is not needed before that audio plays out.
        self._pause_for_first_audio = pause_for_first_audio
        self._fixed_reply = fixed_reply  # replies decided without the model (voice/replies)
        # Tools for a model that takes them (`ToolLLM`; voice/delegate/tools.py): a call's
        # answer is spoken after whatever text the model streamed before it.
        self._tool_use = tool_use
        self._worker = worker
        self._history = history
        self._scope = scope
        self._trace = trace
        # A speculative turn scores the words for the end-of-turn decision before replying:
        # the score evaluates the prefix the reply then reuses.
        self._report_end_of_turn = report_end_of_turn

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        async for frame in frames:
            if not isinstance(frame, TranscriptFrame):
                continue
            if self._report_end_of_turn is not None:
                score = getattr(self._llm, "end_of_turn_probability", None)
                probability = (
                    None
                    if score is None
                    else await self._worker.run(score, self._history, frame.text)
                )
                self._report_end_of_turn(frame.text, probability)
            dialogue = [*self._history, DialogueTurn("user", frame.text)]
            self._trace.start("llm.ttft", now_ns())
            fixed = self._fixed_reply(frame.text) if self._fixed_reply is not None else None
            if fixed:
                self._trace.end("llm.ttft", now_ns())
                yield TokenFrame(fixed, now_ns())
                continue
            cancel = self._scope.cancel_flag
            make_tokens: Callable[[], Iterator[str | ToolCall]] = partial(
                self._llm.stream_reply, dialogue, cancel
            )
            if self._tool_use is not None and isinstance(self._llm, ToolLLM):
                tools = self._tool_use.tools
                make_tokens = partial(self._llm.stream_reply_with_tools, dialogue, cancel, tools)
            tokens = self._worker.stream(
                make_tokens,
                cancel,
                background=self._scope.reply_started.is_set,
                hold=self._scope.first_audio_pending if self._pause_for_first_audio else None,
            )
            async for piece in tokens:
                if isinstance(piece, ToolCall):
                    said = self._tool_use.handle(piece, frame.text) if self._tool_use else None
                    self._trace.tool_calls.append(
                        {"name": piece.name, "input": dict(piece.input), "said": said}
                    )
                    if not said:
                        continue
                    piece = f" {said}"  # after any text the model said first
                self._trace.end("llm.ttft", now_ns())
                yield TokenFrame(piece, now_ns())


class ClauseStage:
    name = "clauses"

    def __init__(self, trace: TurnTrace) -> None:
        self._trace = trace
        self._chunker = ClauseChunker()

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        index = 0
        async for frame in frames:
            if not isinstance(frame, TokenFrame):
                continue
            self._trace.start("llm.clause", frame.at_ns)
            for clause in self._chunker.push(frame.text):
                self._trace.end("llm.clause", now_ns())
                yield ClauseFrame(clause, index, now_ns())
                index += 1
        for clause in self._chunker.flush():
            self._trace.end("llm.clause", now_ns())
            yield ClauseFrame(clause, index, now_ns())
            index += 1


# How far the TTS may run ahead of the playout: past the end of the clause playing, so the
# next clause is synthesized while this one plays (with only the transport's look-ahead,
# every clause after the first began with a 100-150 ms silence: bench `stall_ms`), and not
# the whole of a long reply the caller may interrupt.
SYNTH_AHEAD_FRAMES = 250  # 5 s of 20 ms frames


class TTSStage:
    """Synthesizes clause by clause and re-frames the voice's audio into 20 ms 16 kHz frames."""

    name = "tts"

    def __init__(self, tts: TTS, worker: ModelWorker, scope: TurnScope, trace: TurnTrace) -> None:
        self._tts = tts
        self._worker = worker
        self._scope = scope
        self._trace = trace
        self.spoken: list[str] = []
        # (clause, 16 kHz samples of its audio so far): maps a playout position to the words
        # heard when the turn is interrupted (voice/bargein/heard.py).
        self.clauses: list[tuple[str, int]] = []

    async def process(self, frames: AsyncIterator[Frame]) -> AsyncIterator[Frame]:
        resampler = StreamResampler(self._tts.sample_rate)
        async for frame in frames:
            if not isinstance(frame, ClauseFrame):
                continue
            self._scope.reply_started.set()
            self._trace.start("tts.ttfb", now_ns())
            # A later clause is needed only once the audio before it has played: other
            # calls' first clauses go first (voice/providers/worker.py).
            chunks = self._worker.stream(
                partial(self._tts.synthesize, frame.text, self._scope.cancel_flag),
                self._scope.cancel_flag,
                background=partial(bool, frame.index > 0),
            )
            self.clauses.append((frame.text, 0))
            async for chunk in chunks:
                self._scope.first_audio.set()
                self._trace.end("tts.ttfb", now_ns())
                # Counted as synthesized, not as framed: frames wait in the queue to playout.
                text, samples = self.clauses[-1]
                added = round(len(chunk) * SAMPLE_RATE / self._tts.sample_rate)
                self.clauses[-1] = (text, samples + added)
                for pcm in resampler.push(chunk):
                    yield AudioFrame(pcm, now_ns())
            self.spoken.append(frame.text)
        for pcm in resampler.push(np.zeros(0, dtype=np.int16), last=True):
            yield AudioFrame(pcm, now_ns())
