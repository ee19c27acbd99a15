"""The I/O side of the end-of-turn decision: builds the detector and feeds it each pause's evidence.

The decision (voice/turn_taking/decision.py) is sans-IO. Here, at a pause, Smart Turn runs on
its own worker thread, and the speculative chain's LLM stage gets a callback that reports the
words' end-of-line probability (scored on the prefix the reply reuses). Evidence is tagged with
its pause, so evidence that arrives after the user resumed is ignored by the detector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from voice.agent.stages import now_ns
from voice.audio import SAMPLE_RATE
from voice.config import Config
from voice.pipeline.frames import UserAudio
from voice.pipeline.turn_scope import TurnScope
from voice.providers.registry import Models
from voice.turn_taking.decision import DecisionPolicy, Evidence, FusedEndOfTurn
from voice.turn_taking.endpointing import EndOfTurnDetector, SilenceEndOfTurn

log = logging.getLogger(__name__)

# Smart Turn hears the start of the pause as well as the speech: it was trained on turns cut
# shortly after the last word, and its probability rises with the first ~100 ms of silence.
SMART_TURN_PAUSE_S = 0.1
# A streaming STT's end-of-speech event names the end of the last word; ours is the VAD's.
# They agree within this much, or the event is about other speech (an earlier pause).
STT_END_SLACK_NS = 600_000_000
# A turn-aware STT's confidence counts for a pause if its audio reached the end of speech.
STT_EOT_BEFORE_NS = 60_000_000


def decision_policy(config: Config) -> DecisionPolicy:
    turn = config.turn
    return DecisionPolicy(
        detector=turn.detector,
        threshold=turn.threshold,
        min_wait_ms=turn.min_wait_ms,
        max_wait_ms=turn.max_wait_ms,
        hold_scale_ms=turn.hold_scale_ms,
        prior=turn.prior,
        audio_weight=turn.audio_weight,
        words_weight=turn.words_weight,
        bias=turn.bias,
        silence_ms=turn.silence_ms,
        stt_end_log_odds=turn.stt_end_log_odds,
        stt_eot_weight=turn.stt_eot_weight,
    )


def make_detector(config: Config, models: Models) -> EndOfTurnDetector:
    """The configured detector; without Smart Turn the fused one decides from words and pause."""
    turn = config.turn
    if turn.detector == "silence":
        return SilenceEndOfTurn(
            silence_ms=turn.silence_ms,
            threshold=config.vad.threshold,
            min_speech_ms=turn.min_speech_ms,
            speculate_after_ms=turn.speculate_after_ms,
        )
    policy = decision_policy(config)
    if policy.detector in ("fused", "smart_turn") and models.smart_turn is None:
        log.warning("Smart Turn is not loaded: the end of turn is decided from words and pause")
        policy = replace(policy, detector="words")
    return FusedEndOfTurn(
        policy,
        threshold=config.vad.threshold,
        min_speech_ms=turn.min_speech_ms,
        speculate_after_ms=turn.speculate_after_ms,
    )


class PauseEvidence:
    """Gathers the evidence of every pause for a `FusedEndOfTurn` (no-op for other detectors)."""

    def __init__(self, detector: EndOfTurnDetector, models: Models) -> None:
        self._detector = detector if isinstance(detector, FusedEndOfTurn) else None
        self._models = models
        # The STT provider's latest (kind, at, confidence, arrived), until a pause takes it.
        self._stt_end: tuple[str, int, float | None, int] | None = None

    def on_pause(self, scope: TurnScope, audio: UserAudio) -> None:
        """Start the audio model on the pause; its result lands in the detector."""
        self._apply_stt_end(audio.eos_ns)
        detector = self._detector
        if detector is None or detector.policy.detector not in ("fused", "smart_turn"):
            return
        if self._models.smart_turn is None or self._models.smart_turn_worker is None:
            return
        scope.spawn(self._smart_turn(audio), "smart-turn")

    async def _smart_turn(self, audio: UserAudio) -> None:
        assert self._models.smart_turn is not None and self._models.smart_turn_worker is not None
        assert self._detector is not None
        pause = np.zeros(round(SMART_TURN_PAUSE_S * SAMPLE_RATE), dtype=np.int16)
        probability = await self._models.smart_turn_worker.run(
            self._models.smart_turn.probability, np.concatenate([audio.pcm, pause])
        )
        self._detector.add_evidence(
            Evidence(audio.eos_ns, smart_turn=probability, arrived_ns={"smart_turn": now_ns()})
        )

    def stt_end(self, kind: str, at_ns: int, confidence: float | None = None) -> None:
        """The STT provider's own judgement of the end (on the event loop), as evidence for
        the pause it is about. Without `confidence` (Deepgram nova: `speech_final`,
        `UtteranceEnd`) it names the end of speech at `at_ns`; with one (Flux) it is P(turn
        over) for the audio up to `at_ns`. Either may come before our VAD's pause begins
        (the provider's endpoint can be quicker than the VAD's hangover); then the pause
        takes the latest when it begins."""
        detector = self._detector
        if detector is None or detector.policy.detector == "silence":
            return
        self._stt_end = (kind, at_ns, confidence, now_ns())
        eos_ns = detector.pause_eos_ns
        if eos_ns is not None:
            self._apply_stt_end(eos_ns)

    def _apply_stt_end(self, eos_ns: int) -> None:
        if self._detector is None or self._stt_end is None:
            return
        kind, at_ns, confidence, arrived_ns = self._stt_end
        if confidence is None:
            if abs(at_ns - eos_ns) > STT_END_SLACK_NS:
                return  # about other speech
            evidence = Evidence(eos_ns, stt_end=kind, arrived_ns={"stt_end": arrived_ns})
        else:
            if at_ns < eos_ns - STT_EOT_BEFORE_NS:
                return  # judged on audio that ends before this pause's end of speech
            evidence = Evidence(eos_ns, stt_eot=confidence, arrived_ns={"stt_eot": arrived_ns})
        self._detector.add_evidence(evidence)

    def words_scorer(self, audio: UserAudio) -> Callable[[str, float | None], None] | None:
        """For a speculative turn's LLM stage: report the words' end-of-line probability."""
        detector = self._detector
        if detector is None or detector.policy.detector not in ("fused", "words"):
            return None

        def report(transcript: str, probability: float | None) -> None:
            detector.add_evidence(
                Evidence(
                    audio.eos_ns,
                    words=probability,
                    transcript=transcript,
                    arrived_ns={"words": now_ns()},
                )
            )

        return report
