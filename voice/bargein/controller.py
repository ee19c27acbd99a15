"""The I/O side of barge-in: feeds the sans-IO policy and carries out its decisions.

The session hands every scored input frame to `on_frame`, asks `holds(event)` before it acts on
a turn event, and plays each bot turn through a `Playout` from `playout()`. This adapter then:
- pauses a `Playout` (frames are held, not handed to the transport) and clears the transport's
  queued audio at once; resumes it where it paused;
- on an interruption, clears the transport and cancels the bot turn's `TurnScope` (LLM, TTS,
  playout), then replays the turn events it held back, so the caller's speech becomes the next
  user turn exactly as if the bot had been silent;
- runs the policy's quick transcriptions on the shared STT worker without blocking input;
- records every decision with its inputs in the speaking turn's trace.

Turn events are held while the bot speaks because speech over the bot is not a user turn until
the policy says so: a "yeah" must neither start a speculative reply nor supersede the bot's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from voice.bargein.policy import BargeInPolicy, BargeInSettings, Decision
from voice.config import BargeInConfig
from voice.pipeline.frames import TurnEvent, VADFrame
from voice.pipeline.transport import Transport
from voice.pipeline.turn_scope import TurnScope
from voice.providers.base import STT
from voice.providers.worker import ModelWorker
from voice.trace.turn_trace import TurnTrace

log = logging.getLogger(__name__)


def snippet_transcriber(stt: STT) -> Callable[[np.ndarray], tuple[str, float | None]]:
    """(text, average log-probability or None) of speech over the bot: the STT's quick pass
    where it has one (Whisper's `transcribe_snippet`: greedy, short window, no no-speech
    rule), else its `transcribe` with no confidence."""
    quick = getattr(stt, "transcribe_snippet", None)
    if callable(quick):

        def snippet(pcm: np.ndarray) -> tuple[str, float | None]:
            result = quick(pcm)
            return str(result.text), float(result.avg_logprob)

        return snippet
    return lambda pcm: (stt.transcribe(pcm), None)


def settings_from_config(config: BargeInConfig) -> BargeInSettings:
    return BargeInSettings(
        strategy=config.strategy,
        threshold=config.threshold,
        min_energy_dbfs=config.min_energy_dbfs,
        pause_after_ms=config.pause_after_ms,
        min_speech_ms=config.min_speech_ms,
        min_words=config.min_words,
        confirm_ms=config.confirm_ms,
        end_silence_ms=config.end_silence_ms,
        max_pause_ms=config.max_pause_ms,
        undecided=config.undecided,
        ignore_words=tuple(config.ignore_words),
        stt_every_ms=config.stt_every_ms,
        min_logprob=config.min_logprob,
    )


class Playout:
    """One bot turn's way to the transport: a gate the policy can close, and the position."""

    def __init__(self, owner: BargeIn, scope: TurnScope, trace: TurnTrace) -> None:
        self._owner = owner
        self.scope = scope
        self.trace = trace
        self.interruptible = owner.next_reply_interruptible
        owner.next_reply_interruptible = True
        self.played_samples = 0  # of the reply: maps to the words heard (voice/bargein/heard.py)
        self.filler_samples = 0  # canned audio before the reply (the failover bridge)
        self.started = False
        self._open = asyncio.Event()
        self._open.set()

    async def send(self, pcm: np.ndarray, filler: bool = False) -> int:
        """Hand one frame to the transport once the gate is open; return the hand-over time.
        `filler`: canned audio, not the reply's, so not counted in `played_samples`."""
        if not self.started:
            self.started = True
            self._owner.speaking(self)
        await self._open.wait()
        handed_ns = await self._owner.transport.send_audio(pcm)
        if filler:
            self.filler_samples += len(pcm)
        else:
            self.played_samples += len(pcm)
        return handed_ns

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        self._open.set()


class BargeIn:
    def __init__(
        self,
        config: BargeInConfig,
        transport: Transport,
        stt: STT,
        stt_worker: ModelWorker,
        replay: Callable[[TurnEvent], Awaitable[None]],
    ) -> None:
        self.policy = BargeInPolicy(settings_from_config(config))
        self.enabled = config.enabled
        self.transport = transport
        self._transcribe_snippet = snippet_transcriber(stt)
        self._stt_worker = stt_worker
        self._replay = replay
        self.next_reply_interruptible = True
        self._speaking: Playout | None = None
        self._held: list[TurnEvent] = []
        self._defer = False  # a real turn was heard over a protected reply: answer it after
        self._drop_until_turn_end = False  # the held speech was judged harmless
        self._tasks: set[asyncio.Task[Any]] = set()
        self._to_replay: list[TurnEvent] = []

    # -- the session's calls -------------------------------------------------------------------

    def playout(self, scope: TurnScope, trace: TurnTrace) -> Playout:
        return Playout(self, scope, trace)

    def protect_next_reply(self) -> None:
        """The next reply must be heard whole (a disclaimer): speech over it never stops it."""
        self.next_reply_interruptible = False

    def speaking(self, playout: Playout) -> None:
        self._speaking = playout
        self.policy.bot_started(interruptible=self.enabled and playout.interruptible)

    async def on_frame(self, frame: VADFrame) -> None:
        # Held events go back to the session here, on the input task, in their order.
        replay, self._to_replay = self._to_replay, []
        for event in replay:
            await self._replay(event)
        decisions = self.policy.push_frame(
            frame.audio.pcm, frame.speech_probability, frame.audio.media_time_ns
        )
        await self._act(decisions)

    def holds(self, event: TurnEvent) -> bool:
        """Whether the session must not act on `event` (yet): speech over the bot is the
        policy's until it is confirmed as an interruption."""
        if self._drop_until_turn_end:
            if event.kind == "turn_ended":
                self._drop_until_turn_end = False
            return True
        if self._speaking is None or self.policy.state in ("idle", "interrupted"):
            return False
        if event.kind == "speech_started":
            self._held = []
        self._held.append(event)
        return True

    def turn_over(self, playout: Playout) -> None:
        """A bot turn ended (played out, cancelled or interrupted)."""
        if self._speaking is not playout:
            return
        judging = self.policy.judging
        self._stop(playout)
        held, self._held = self._held, []
        if self._defer or judging:
            # The caller's speech was a turn (or still might be): it gets its answer now.
            self._to_replay += held
            self._drop_until_turn_end = False
        elif held and held[-1].kind != "turn_ended":
            self._drop_until_turn_end = True
        self._defer = False

    def _stop(self, playout: Playout) -> None:
        self._speaking = None
        self.policy.bot_stopped(time.monotonic_ns())
        playout.trace.paused_ms += round(self.policy.paused_ms_total, 1)

    @property
    def pending_tasks(self) -> int:
        """Quick transcriptions still running."""
        return len(self._tasks)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- decisions -----------------------------------------------------------------------------

    async def _act(self, decisions: list[Decision]) -> None:
        playout = self._speaking
        for decision in decisions:
            if playout is None:
                return
            if decision.kind != "transcribe":
                playout.trace.bargein.append(decision.to_dict())
                log.info("barge-in %s: %s %s", decision.kind, decision.reason, decision.inputs)
            if decision.kind == "pause":
                playout.pause()
                await self.transport.clear_audio()
            elif decision.kind == "resume":
                playout.trace.resumed += 1
                playout.resume()
            elif decision.kind == "interrupt":
                await self._interrupt(playout)
            elif decision.kind == "defer":
                self._defer = True
            elif decision.kind == "transcribe" and decision.snippet is not None:
                task = asyncio.get_running_loop().create_task(
                    self._transcribe(
                        decision.snippet,
                        bool(decision.inputs.get("final")),
                        int(decision.inputs["speech_ns"]),
                    ),
                    name="bargein:stt",
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if decision.kind in ("resume", "ignore"):
                self._drop_held()

    def _drop_held(self) -> None:
        held, self._held = self._held, []
        if held and held[-1].kind != "turn_ended":
            self._drop_until_turn_end = True

    async def _interrupt(self, playout: Playout) -> None:
        playout.pause()
        await self.transport.clear_audio()
        self._stop(playout)
        self._to_replay += self._held
        self._held = []
        # Speech dismissed earlier may run on into this one in the detector's eyes: its turn
        # end is now the caller's turn, not something to drop.
        self._drop_until_turn_end = False
        await playout.scope.cancel()

    async def _transcribe(self, snippet: np.ndarray, final: bool, speech_ns: int) -> None:
        logprob: float | None = None
        try:
            text, logprob = await self._stt_worker.run(self._transcribe_snippet, snippet)
        except Exception:  # a failed quick STT is no words; the durations still decide
            log.exception("barge-in transcription failed")
            text = ""
        if self._speaking is None:
            return
        now = time.monotonic_ns()
        await self._act(self.policy.transcript(text, now, final, speech_ns, logprob))
