"""The fused end-of-turn decision: how long to wait at a pause before answering.

At every pause the agent gathers evidence (the session's wiring does the I/O):
- the **audio**: Smart Turn v3.2's probability that the speaker has finished, which hears
  prosody (a falling pitch, a lengthened last syllable);
- the **words**: the agent's own LLM's probability that the user's line ends where the
  speculative transcript ends, plus lexical cues (`cues.py`) for a line that stops on "and",
  "the", "to" or "um";
- the **pause** itself: how long the silence has lasted.

The evidence is fused in log-odds into P(finished) and turned into a wait with a hazard model:
a mid-turn hold survives past `t` ms of silence with probability about
`exp(-(t - min_wait) / hold_scale)`, while a finished turn's silence always does, so the
posterior odds of "finished" grow as `odds(p) * exp((t - min_wait) / hold_scale)`. The agent
answers once they reach the odds of `threshold`:

    wait = min_wait + hold_scale * ln(odds(threshold) / odds(p)),   clamped to [min, max]

A sure turn is answered after `min_wait_ms`; a doubtful one waits longer; none waits past
`max_wait_ms`. Everything here is sans-IO: frames, evidence and media time in, events out.
The same `wait_ms()` drives the live decision and the offline sweep (`voice bench --sweep`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from voice.pipeline.frames import TurnEvent, VADFrame
from voice.turn_taking.cues import lexical_cue
from voice.turn_taking.endpointing import SilenceEndOfTurn

DETECTORS = ("fused", "smart_turn", "words", "silence")
_EPS = 1e-3


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1 - _EPS)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass(frozen=True)
class Evidence:
    """What is known about one pause (the pause that began at `eos_ns`)."""

    eos_ns: int
    smart_turn: float | None = None  # P(complete) from the audio model
    words: float | None = None  # P(line ends) from the LLM
    transcript: str | None = None
    stt_end: str | None = None  # a streaming STT's own end-of-speech event (speech_final, ...)
    stt_eot: float | None = None  # a streaming STT's P(turn over) (Deepgram Flux)
    arrived_ns: dict[str, int] = field(default_factory=dict)  # evidence kind -> media time


@dataclass(frozen=True)
class DecisionPolicy:
    """Which evidence counts, how it is weighed, and how sure the agent must be."""

    detector: str = "words"  # words | fused | smart_turn | silence
    threshold: float = 0.9  # P(finished) at which the agent answers
    min_wait_ms: float = 200.0
    max_wait_ms: float = 1600.0
    hold_scale_ms: float = 250.0  # how fast mid-turn holds die out as the silence grows
    prior: float = 0.5  # P(finished) before any evidence has arrived
    audio_weight: float = 0.5
    words_weight: float = 0.7
    bias: float = 2.0
    silence_ms: float = 300.0  # the fixed wait of the "silence" detector
    stt_end_log_odds: float = 1.0  # added when the STT provider also heard the speech end
    stt_eot_weight: float = 1.0  # weight of a turn-aware STT's end-of-turn log-odds (Flux)

    def probability(self, evidence: Evidence | None) -> tuple[float, dict[str, Any]]:
        """P(finished) from the evidence this policy uses, with the parts that made it."""
        parts: dict[str, Any] = {}
        if evidence is None:
            return self.prior, parts
        log_odds = self.bias
        used = False
        if self.detector in ("fused", "smart_turn") and evidence.smart_turn is not None:
            log_odds += self.audio_weight * _logit(evidence.smart_turn)
            parts["smart_turn"] = round(evidence.smart_turn, 4)
            used = True
        if self.detector in ("fused", "words") and evidence.transcript is not None:
            if evidence.words is not None:
                log_odds += self.words_weight * _logit(evidence.words)
                parts["words"] = round(evidence.words, 4)
            cue = lexical_cue(evidence.transcript)
            log_odds += cue.log_odds
            parts["cue"] = cue.name
            used = True
        if self.detector != "silence" and evidence.stt_eot is not None:
            # A turn model of its own (Flux hears words and prosody): fused with the others,
            # or alone its own calibrated probability (the bias is for our LLM's low scores).
            eot_log_odds = self.stt_eot_weight * _logit(evidence.stt_eot)
            log_odds = log_odds + eot_log_odds if used else eot_log_odds
            parts["stt_eot"] = round(evidence.stt_eot, 4)
            used = True
        if not used:
            return self.prior, parts
        # The provider's endpoint (Deepgram's) is acoustic, like our VAD's pause: it adds to
        # the words or the audio model, never stands in for them.
        if evidence.stt_end is not None:
            log_odds += self.stt_end_log_odds
            parts["stt_end"] = evidence.stt_end
        return _sigmoid(log_odds), parts

    def wait_ms(self, p: float) -> float:
        """How much silence to wait for at P(finished) = p (the hazard model above)."""
        if self.detector == "silence":
            return self.silence_ms
        need = _logit(self.threshold)
        have = _logit(p)
        if have >= need:
            return self.min_wait_ms
        return min(self.max_wait_ms, self.min_wait_ms + self.hold_scale_ms * (need - have))


class FusedEndOfTurn(SilenceEndOfTurn):
    """`SilenceEndOfTurn` whose required silence follows the evidence of the current pause.

    `add_evidence()` may be called at any time (it arrives from worker threads via the
    session); evidence for a pause that is over (another `eos_ns`) is ignored.
    """

    def __init__(
        self,
        policy: DecisionPolicy,
        threshold: float = 0.5,
        min_speech_ms: int = 60,
        speculate_after_ms: int = 20,
    ) -> None:
        self.policy = policy
        self._evidence: Evidence | None = None
        super().__init__(
            silence_ms=int(policy.max_wait_ms),
            threshold=threshold,
            min_speech_ms=min_speech_ms,
            speculate_after_ms=speculate_after_ms,
        )

    def reset(self) -> None:
        super().reset()
        self._evidence = None

    def add_evidence(self, evidence: Evidence) -> None:
        """Merge evidence for the pause that began at `evidence.eos_ns`."""
        if self._state != "silent" or evidence.eos_ns != self._eos_ns:
            return
        current = self._evidence or Evidence(eos_ns=evidence.eos_ns)
        self._evidence = replace(
            current,
            smart_turn=(
                evidence.smart_turn if evidence.smart_turn is not None else current.smart_turn
            ),
            words=evidence.words if evidence.words is not None else current.words,
            transcript=(
                evidence.transcript if evidence.transcript is not None else current.transcript
            ),
            stt_end=evidence.stt_end if evidence.stt_end is not None else current.stt_end,
            stt_eot=evidence.stt_eot if evidence.stt_eot is not None else current.stt_eot,
            arrived_ns={**current.arrived_ns, **evidence.arrived_ns},
        )

    @property
    def pause_eos_ns(self) -> int | None:
        """The end of speech of the pause in progress; None while the user speaks."""
        return self._eos_ns if self._state == "silent" else None

    def push(self, frame: VADFrame) -> list[TurnEvent]:
        was_silent_at = self._eos_ns if self._state == "silent" else None
        events = super().push(frame)
        if was_silent_at is not None and self._state != "silent":
            self._evidence = None  # speech resumed: that pause's evidence is stale
        return events

    def required_silence_ms(self) -> float:
        p, _ = self.policy.probability(self._evidence)
        return self.policy.wait_ms(p)

    def decision_record(self, silence_ms: float) -> dict[str, Any]:
        p, parts = self.policy.probability(self._evidence)
        record: dict[str, Any] = {
            "detector": self.policy.detector,
            **parts,
            "p_finished": round(p, 4),
            "wait_ms": round(self.policy.wait_ms(p), 1),
            "silence_ms": round(silence_ms, 1),
        }
        if self._evidence is not None:
            record["transcript"] = self._evidence.transcript
            record["evidence_after_ms"] = {
                kind: round((at - self._eos_ns) / 1e6, 1)
                for kind, at in self._evidence.arrived_ns.items()
            }
        return record
