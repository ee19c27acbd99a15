"""A voice session: one conversation over one transport.

Input runs continuously: transport audio -> VAD -> end-of-turn detector -> turn events. Each bot
turn runs in its own `TurnScope` as a streaming chain STT -> LLM -> clauses -> TTS -> playout.
With speculation on, the chain starts when the user pauses and its audio waits at the playout
gate until the turn is committed; if the user resumes, the scope is cancelled and its work
discarded. A bot turn may also speak given text with no user turn before it (a delegated
task's news at a gap, voice/delegate), committed at once. Models are shared by all sessions of
the process; the VAD state, the dialogue history and the turns are the session's own, so one
session's failure never touches another.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from voice.agent.bridge import TurnBridge
from voice.agent.end_of_turn import PauseEvidence, make_detector
from voice.agent.live_stt import open_live_stt
from voice.agent.stages import (
    SYNTH_AHEAD_FRAMES,
    ClauseStage,
    LLMStage,
    STTStage,
    TTSStage,
    VADStage,
    now_ns,
)
from voice.bargein.controller import BargeIn, Playout
from voice.bargein.heard import heard_text
from voice.config import Config
from voice.delegate.delegator import Delegator, make_delegator
from voice.delegate.policy import Utterance
from voice.pipeline.frames import AudioFrame, Frame, TokenFrame, TurnEvent, UserAudio, VADFrame
from voice.pipeline.runner import Stage, iterate, run_pipeline
from voice.pipeline.transport import Transport
from voice.pipeline.turn_scope import TurnCancelled, TurnScope
from voice.providers.base import DialogueTurn, LiveSTT
from voice.providers.registry import Models
from voice.replies.honesty import honest_reply
from voice.trace import otel
from voice.trace.budget import judge
from voice.trace.turn_trace import TurnTrace
from voice.turn_taking.endpointing import EndOfTurnDetector

log = logging.getLogger(__name__)


@dataclass
class _Turn:
    scope: TurnScope
    trace: TurnTrace
    audio: UserAudio | None  # None: the bot speaks `said` unprompted (voice/delegate)
    report_words: Callable[[str, float | None], None] | None = None  # speculative turns
    said: Utterance | None = None


@dataclass
class SessionResult:
    turns: list[TurnTrace] = field(default_factory=list)
    discarded: int = 0
    dtmf: list[str] = field(default_factory=list)  # keys the caller pressed (phone transports)


class VoiceSession:
    def __init__(
        self,
        transport: Transport,
        models: Models,
        config: Config,
        detector: EndOfTurnDetector | None = None,
        on_turn: Callable[[TurnTrace], None] | None = None,
        on_speaking: Callable[[TurnTrace], None] | None = None,
        delegate: Delegator | None = None,
    ) -> None:
        self.session_id = uuid.uuid4().hex[:12]
        self.transport = transport
        self.models = models
        self.config = config
        self.detector = detector or make_detector(config, models)
        self.pause_evidence = PauseEvidence(self.detector, models)  # feeds the detector
        self.on_turn = on_turn  # a committed turn is over (answered, interrupted, ...)
        self.on_speaking = on_speaking  # a committed turn's first audio went to the transport
        # Long tasks go to a harness; their news is spoken at gaps (voice/delegate).
        self.delegate = delegate or make_delegator(config.delegate)
        self.history: list[DialogueTurn] = []
        self.result = SessionResult()
        self.started_ns = now_ns()  # moved to the first input frame's capture time
        self._heard_first_frame = False
        self._turn_ids = itertools.count(1)
        self._speculative: _Turn | None = None
        self._active: list[_Turn] = []
        self._user_speaking = False
        self.live_stt: LiveSTT | None = None  # a streaming STT's socket for the call (run())
        # Speech over the bot goes to the barge-in policy first (voice/bargein).
        self.bargein = BargeIn(
            config.bargein, transport, models.stt, models.stt_worker, self._on_turn_event
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> SessionResult:
        """Serve the transport until its audio input ends, then finish the turns in flight."""
        otel.configure(self.config.trace.otlp_endpoint)
        await self.models.llm_worker.run(self.models.llm.warm_up, self.history)
        vad_stream = self.models.vad.new_stream()
        self.live_stt = open_live_stt(self.models.stt, self.models.stt_worker, self.pause_evidence)
        try:
            if self.delegate is not None:
                await self.delegate.start()
            await run_pipeline(
                self.transport.audio_input(),
                [VADStage(vad_stream, self.models.vad_worker)],
                self._on_vad_frame,
            )
            # The call is over: a turn not yet committed never will be. Finish the others.
            await self._cancel_speculation()
            for turn in list(self._active):
                if turn.scope.committed:
                    await turn.scope.wait()
                else:
                    await self._discard(turn)
        finally:
            await self._cancel_speculation()
            for turn in list(self._active):
                await turn.scope.cancel()
            await self.bargein.close()
            if self.live_stt is not None:
                await asyncio.to_thread(self.live_stt.close)
            if self.delegate is not None:
                await self.delegate.close()
        return self.result

    @property
    def idle(self) -> bool:
        """No user speech in progress and no bot turn running."""
        return not self._user_speaking and not self._active and self._speculative is None

    # -- input side --------------------------------------------------------------------------

    async def _on_vad_frame(self, frame: Frame) -> None:
        if not isinstance(frame, VADFrame):
            return
        if not self._heard_first_frame:
            self._heard_first_frame = True
            self.started_ns = frame.audio.media_time_ns
        if self.live_stt is not None:
            self.live_stt.push(frame.audio.pcm, frame.audio.media_time_ns, frame.audio.wire)
        await self.bargein.on_frame(frame)
        for event in self.detector.push(frame):
            if not self.bargein.holds(event):
                await self._on_turn_event(event)
        if self.delegate is not None:
            for turn in [t for t in self._active if t.said and self.delegate.superseded(t.said)]:
                await self.transport.clear_audio()  # its task's outcome is the news now
                await turn.scope.cancel()
            utterance = self.delegate.due(frame.audio.media_time_ns, self.idle)
            if utterance is not None:
                self._start_turn(None, said=utterance)

    async def _on_turn_event(self, event: TurnEvent) -> None:
        if event.kind == "speech_started":
            self._user_speaking = True
            await self._cancel_speculation()
        elif event.kind == "resumed":
            await self._cancel_speculation()
        elif event.kind == "paused" and event.audio is not None:
            if self.config.turn.speculate:
                await self._cancel_speculation()
                self._speculative = self._start_turn(event.audio, speculative=True)
                self.pause_evidence.on_pause(self._speculative.scope, event.audio)
        elif event.kind == "turn_ended" and event.audio is not None:
            self._user_speaking = False
            turn = self._speculative
            self._speculative = None
            if turn is None or turn.trace.eos_ns != event.eos_ns:
                if turn is not None:
                    await self._discard(turn)
                turn = self._start_turn(event.audio)
            # The user finished a new turn: an older bot turn still running is superseded.
            for older in [t for t in self._active if t is not turn]:
                await older.scope.cancel()
            turn.scope.commit(event.at_ns)
            turn.trace.add("endpoint", event.eos_ns, event.at_ns)
            turn.trace.end_of_turn = event.decision

    async def _cancel_speculation(self) -> None:
        turn, self._speculative = self._speculative, None
        if turn is not None:
            await self._discard(turn)

    async def _discard(self, turn: _Turn) -> None:
        await turn.scope.cancel()
        self.result.discarded += 1

    # -- bot turn ----------------------------------------------------------------------------

    def _start_turn(
        self, audio: UserAudio | None, speculative: bool = False, said: Utterance | None = None
    ) -> _Turn:
        """A bot turn: the reply to `audio`, or (`audio` None) an unprompted `said` utterance,
        committed at once."""
        turn_id = next(self._turn_ids)
        eos_ns = audio.eos_ns if audio is not None else now_ns()
        turn = _Turn(TurnScope(turn_id), TurnTrace(turn_id, eos_ns=eos_ns), audio, said=said)
        if audio is None:
            turn.scope.commit(eos_ns)
        elif speculative:
            turn.report_words = self.pause_evidence.words_scorer(audio)
        self._active.append(turn)
        turn.scope.spawn(self._run_turn(turn), "chain")
        return turn

    async def _run_turn(self, turn: _Turn) -> None:
        scope, trace = turn.scope, turn.trace
        models = self.models
        tts_stage = TTSStage(models.tts, models.tts_worker, scope, trace)
        out = self.bargein.playout(scope, trace)
        # A failover that makes the reply late is bridged with "One moment." (voice/replies).
        bridge = TurnBridge(
            models.bridge_pcm, self.config, scope, trace, out, prompted=turn.audio is not None
        )
        honest = honest_reply if self.config.llm.honest_replies else None
        fixed_reply = honest if self.delegate is None else self.delegate.fixed_reply(scope, honest)
        stages: list[Stage] = [
            STTStage(models.stt, models.stt_worker, trace, self.live_stt),
            LLMStage(
                models.llm,
                models.llm_worker,
                list(self.history),
                scope,
                trace,
                turn.report_words,
                fixed_reply,
                None if self.delegate is None else self.delegate.tool_use(scope),
                self.config.llm.pause_for_first_audio,
            ),
            ClauseStage(trace),
            tts_stage,
        ]
        first: Frame = turn.audio or TokenFrame(turn.said.text if turn.said else "", now_ns())
        if turn.audio is None:  # no user turn: the text goes straight to the clauses
            stages = stages[2:]

        async def playout(frame: Frame) -> None:
            if not isinstance(frame, AudioFrame):
                return
            if trace.first_audio_ns is None:
                ready_ns = now_ns()
                await bridge.reply_ready()  # a bridge playing goes first; none after
                await scope.wait_committed()
                trace.start("transport", max(ready_ns, now_ns()))
            handed_ns = await out.send(frame.pcm)
            if trace.first_audio_ns is None:
                trace.first_audio_ns = handed_ns
                trace.end("transport", handed_ns)
                if self.on_speaking is not None:
                    self.on_speaking(trace)

        try:
            await run_pipeline(iterate(first), stages, playout, sink_queue_size=SYNTH_AHEAD_FRAMES)
            await scope.wait_committed()
            trace.outcome = "answered" if trace.first_audio_ns is not None else "empty"
        except (TurnCancelled, asyncio.CancelledError):
            trace.outcome = "discarded"
            if trace.first_audio_ns is not None:
                trace.outcome = "interrupted"
            self._finish(turn, tts_stage, out)
            raise
        except Exception as exc:  # one turn's failure ends that turn, never the session
            log.exception("turn %d failed", trace.turn_id)
            trace.outcome = "failed"
            trace.error = f"{type(exc).__name__}: {exc}"
        self._finish(turn, tts_stage, out)

    def _finish(self, turn: _Turn, tts_stage: TTSStage, out: Playout) -> None:
        self.bargein.turn_over(out)
        if turn in self._active:
            self._active.remove(turn)
        trace = turn.trace
        interrupted = trace.outcome == "interrupted"
        # Only what the caller heard goes into the history.
        trace.reply = (
            heard_text(tts_stage.clauses, out.played_samples)
            if interrupted
            else " ".join(tts_stage.spoken)
        )
        if turn.said is not None and self.delegate is not None:
            self.delegate.said(turn.said, heard=trace.outcome == "answered")
        if not turn.scope.committed:
            return
        if trace.transcript:
            self.history.append(DialogueTurn("user", trace.transcript))
        if trace.reply and (trace.transcript or turn.said is not None):
            self.history.append(DialogueTurn("assistant", trace.reply, interrupted))
        self.result.turns.append(trace)
        otel.export_turn(trace, self.session_id)
        if self.on_turn is not None:
            self.on_turn(trace)

    def turn_record(self, trace: TurnTrace) -> dict[str, object]:
        """The per-turn JSON, with the budget verdict."""
        record = trace.to_dict(self.started_ns)
        record["budget"] = judge(trace, self.config.budget).to_dict()
        return record
