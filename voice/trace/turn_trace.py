"""One trace per bot turn: stage spans with DESIGN.md's names, on `time.monotonic_ns()`.

Stage spans form a chain from the end of user speech (EoS) to the first bot audio frame handed
to the transport: `endpoint` (EoS -> turn committed), `stt` (audio to STT -> final transcript),
`llm.ttft` (LLM request -> first token), `llm.clause` (first token -> first speakable clause),
`tts.ttfb` (clause to TTS -> first audio chunk), `transport` (first audio chunk -> first frame
handed to the transport). With speculation the chain starts before the turn is committed, so
`endpoint` overlaps the others; TTFA is measured end to end, not summed.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from voice.config import STAGES


@dataclass
class Span:
    name: str
    start_ns: int
    end_ns: int | None = None

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.start_ns


def _ms(ns: int | None, origin_ns: int = 0) -> float | None:
    return None if ns is None else round((ns - origin_ns) / 1e6, 1)


@dataclass
class TurnTrace:
    turn_id: int
    eos_ns: int
    transcript: str = ""
    reply: str = ""
    spans: dict[str, Span] = field(default_factory=dict)
    first_audio_ns: int | None = None
    outcome: str = "pending"  # pending | answered | discarded | interrupted | failed | empty
    error: str | None = None
    # Why the user's turn was judged over: the detector's evidence and wait (voice/turn_taking).
    end_of_turn: dict[str, Any] | None = None
    # Barge-in: every decision taken while this turn spoke, with its inputs (voice/bargein).
    bargein: list[dict[str, Any]] = field(default_factory=list)
    paused_ms: float = 0.0  # how long playout was held for speech over the bot
    resumed: int = 0  # how often it played on after such a pause
    # Cloud provider calls that fell back to the local provider (voice/providers/failover.py).
    failovers: list[dict[str, Any]] = field(default_factory=list)
    # Told of each failover note as it is made, on the thread that made it, with whether the
    # cloud was tried: the spoken bridge listens here (voice/agent/bridge.py).
    on_failover: Callable[[dict[str, Any], bool], None] | None = field(
        default=None, repr=False, compare=False
    )
    # When the first frame of the canned bridge ("One moment.") went to the transport. It is
    # filler, not the reply: `first_audio_ns` (TTFA) stays the reply's own first audio.
    bridge_ns: int | None = None
    # Tools the model called in this turn, and what the agent said for each (voice/delegate).
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # The trace made last in a task is that task's current trace, and the one of the turn
        # tasks it starts next (they copy its context): a provider deep in the call (on a model
        # worker, which runs in the caller's context) can note a failover on the turn it serves.
        _current.set(self)

    def start(self, name: str, at_ns: int) -> None:
        if name not in self.spans:
            self.spans[name] = Span(name, at_ns)

    def end(self, name: str, at_ns: int) -> None:
        span = self.spans.get(name)
        if span is not None and span.end_ns is None:
            span.end_ns = at_ns

    def add(self, name: str, start_ns: int, end_ns: int) -> None:
        self.spans[name] = Span(name, start_ns, end_ns)

    @property
    def ttfa_ns(self) -> int | None:
        if self.first_audio_ns is None:
            return None
        return self.first_audio_ns - self.eos_ns

    def stage_ms(self) -> dict[str, float | None]:
        return {
            name: _ms(self.spans[name].duration_ns) if name in self.spans else None
            for name in STAGES
        }

    def to_dict(self, origin_ns: int = 0) -> dict[str, Any]:
        """The project's JSON per turn. Times are ms from `origin_ns` (e.g. session start)."""
        return {
            "turn": self.turn_id,
            "outcome": self.outcome,
            "transcript": self.transcript,
            "reply": self.reply,
            "eos_ms": _ms(self.eos_ns, origin_ns),
            "ttfa_ms": _ms(self.ttfa_ns),
            "first_audio_ms": _ms(self.first_audio_ns, origin_ns),
            **({"bridge_ms": _ms(self.bridge_ns, origin_ns)} if self.bridge_ns is not None else {}),
            "spans": {
                name: {
                    "start_ms": _ms(span.start_ns, origin_ns),
                    "end_ms": _ms(span.end_ns, origin_ns),
                    "ms": _ms(span.duration_ns),
                }
                for name, span in sorted(self.spans.items(), key=lambda item: item[1].start_ns)
            },
            **({"end_of_turn": self.end_of_turn} if self.end_of_turn else {}),
            **({"error": self.error} if self.error else {}),
            **({"failovers": self._failovers_dict(origin_ns)} if self.failovers else {}),
            **({"tool_calls": self.tool_calls} if self.tool_calls else {}),
            **(self._bargein_dict(origin_ns) if self.bargein else {}),
        }

    def _failovers_dict(self, origin_ns: int) -> list[dict[str, Any]]:
        return [
            {"at_ms": _ms(f["at_ns"], origin_ns), **{k: v for k, v in f.items() if k != "at_ns"}}
            for f in self.failovers
        ]

    def _bargein_dict(self, origin_ns: int) -> dict[str, Any]:
        decisions = [
            {"at_ms": _ms(d["at_ns"], origin_ns), **{k: v for k, v in d.items() if k != "at_ns"}}
            for d in self.bargein
        ]
        return {"bargein": decisions, "paused_ms": self.paused_ms, "resumed": self.resumed}


_current: ContextVar[TurnTrace | None] = ContextVar("voice_turn_trace", default=None)


def current_trace() -> TurnTrace | None:
    """The trace of the turn this code runs for, if any (see `TurnTrace.__post_init__`)."""
    return _current.get()
