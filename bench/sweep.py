"""`voice bench CORPUS --sweep endpoint`: the end-of-turn trade-off curve, eot-bench style.

Every `turn` case is run through our VAD and pause state machine (the live `SilenceEndOfTurn`,
fed in media time, not in real time). At every pause the live agent would gather evidence
(STT of the audio so far, the LLM's end-of-line probability, Smart Turn on the audio plus the
first 100 ms of silence); here each model is called once per pause and the time it took is
kept. A pause before the true end of speech is a hold (its length is known from the VAD); the
last one is the true end.

Then each decision policy is replayed offline over that evidence with the same
`DecisionPolicy.wait_ms()` the live agent uses: a hold that lasts longer than the policy's wait
is a false cut-off for its turn; a turn not cut off is answered after its final pause's wait
(never before its evidence could have arrived), which gives its endpoint delay from the true
end of speech. Sweeping each policy's one knob (the fixed silence for VAD only, the threshold
for the others) traces false cut-off rate against mean endpoint delay. The operating points
are the smallest mean delay at <= 5 % and <= 10 % false cut-offs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bench.corpus import Corpus
from voice.audio import FRAME_NS, SAMPLE_RATE, split_frames
from voice.config import Config
from voice.pipeline.frames import AudioFrame, VADFrame
from voice.providers.registry import Models
from voice.turn_taking.decision import DecisionPolicy, Evidence
from voice.turn_taking.endpointing import SilenceEndOfTurn

SMART_TURN_PAUSE_S = 0.1
TAIL_S = 1.0
TAIL_WORDS_S = 3.0
FINAL_TOLERANCE_S = 0.15  # a pause starting this close before eos_s is the end, not a hold
THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999)
SILENCES_MS = (200, 300, 400, 500, 600, 700, 800, 900, 1000, 1200, 1400, 1600, 2000, 2500)
TARGETS = (0.05, 0.10)


@dataclass
class Pause:
    """One pause the VAD found, with its evidence and what it really was."""

    eos_s: float  # slice time of the last voiced frame's end
    duration_ms: float | None  # None: the audio ended in this pause (the final one)
    final: bool
    transcript: str
    words: float | None
    smart_turn: float | None
    words_ready_ms: float  # from the pause's start, as the live chain would deliver it
    audio_ready_ms: float
    # The words of the last TAIL_WORDS_S of speech only (a quick greedy STT: its cost does not
    # grow with the turn), scored the same way: evidence that can arrive ~100 ms into a pause.
    tail_transcript: str = ""
    tail_words: float | None = None
    tail_ready_ms: float | None = None


@dataclass
class TurnPauses:
    case_id: str
    audio_kind: str
    eos_s: float
    pauses: list[Pause] = field(default_factory=list)


def find_pauses(
    pcm: np.ndarray, models: Models, threshold: float, speculate_after_ms: int
) -> list[tuple[float, float | None, np.ndarray]]:
    """(pause start s, length ms or None if the audio ends in it, audio up to it) per pause."""
    detector = SilenceEndOfTurn(
        silence_ms=10**9, threshold=threshold, speculate_after_ms=speculate_after_ms
    )
    stream = models.vad.new_stream()
    # As in the live bench, silence follows the recording (clips often end at the last word).
    pcm = np.concatenate([pcm, np.zeros(round(TAIL_S * SAMPLE_RATE), dtype=np.int16)])
    found: list[tuple[float, float | None, np.ndarray]] = []
    open_pause: tuple[int, np.ndarray] | None = None
    for index, chunk in enumerate(split_frames(pcm)):
        frame = AudioFrame(chunk, index * FRAME_NS)
        for event in detector.push(VADFrame(frame, stream.probability(chunk))):
            if event.kind == "paused" and event.audio is not None:
                open_pause = (event.eos_ns, event.audio.pcm)
            elif event.kind == "resumed" and open_pause is not None:
                eos_ns, audio = open_pause
                found.append((eos_ns / 1e9, (frame.media_time_ns - eos_ns) / 1e6, audio))
                open_pause = None
    if open_pause is not None:
        found.append((open_pause[0] / 1e9, None, open_pause[1]))
    return found


def gather(
    corpus: Corpus,
    models: Models,
    config: Config,
    progress: Callable[[str], None] | None = None,
) -> list[TurnPauses]:
    """Evidence at every pause of every turn case (each model called as the live agent would)."""
    turns: list[TurnPauses] = []
    llm_score = getattr(models.llm, "end_of_turn_probability", None)
    for case in corpus.of_kind("turn"):
        assert case.eos_s is not None
        pcm = case.load_pcm()
        eos_s = case.rel(case.eos_s)
        record = TurnPauses(case.id, case.audio_kind, eos_s)
        speculate_ms = config.turn.speculate_after_ms  # the chain starts this far into a pause
        pauses = find_pauses(pcm, models, config.vad.threshold, speculate_ms)
        for start_s, duration_ms, audio in pauses:
            t0 = time.perf_counter()
            transcript = models.stt.transcribe(audio)
            stt_ms = (time.perf_counter() - t0) * 1e3
            t0 = time.perf_counter()
            words = llm_score([], transcript) if llm_score and transcript.strip() else None
            llm_ms = (time.perf_counter() - t0) * 1e3
            smart, smart_ms = None, 0.0
            if models.smart_turn is not None:
                pause = np.zeros(round(SMART_TURN_PAUSE_S * SAMPLE_RATE), dtype=np.int16)
                t0 = time.perf_counter()
                smart = models.smart_turn.probability(np.concatenate([audio, pause]))
                smart_ms = (time.perf_counter() - t0) * 1e3
            tail_text, tail_words, tail_ms = _tail_words(models, audio, llm_score)
            final = duration_ms is None or start_s >= eos_s - FINAL_TOLERANCE_S
            record.pauses.append(
                Pause(
                    eos_s=round(start_s, 3),
                    duration_ms=None if duration_ms is None else round(duration_ms, 1),
                    final=final,
                    transcript=transcript,
                    words=words,
                    smart_turn=smart,
                    words_ready_ms=round(speculate_ms + stt_ms + llm_ms, 1),
                    audio_ready_ms=round(speculate_ms + smart_ms, 1),
                    tail_transcript=tail_text,
                    tail_words=tail_words,
                    tail_ready_ms=None if tail_ms is None else round(speculate_ms + tail_ms, 1),
                )
            )
        turns.append(record)
        if progress is not None:
            progress(case.id)
    return turns


def _tail_words(
    models: Models, audio: np.ndarray, llm_score: Callable[..., float] | None
) -> tuple[str, float | None, float | None]:
    """(transcript, P(line ends), ms both took) for the last TAIL_WORDS_S of the speech."""
    quick = getattr(models.stt, "transcribe_partial", None)
    if quick is None or llm_score is None:
        return "", None, None
    t0 = time.perf_counter()
    text = quick(audio[-round(TAIL_WORDS_S * SAMPLE_RATE) :])
    words = llm_score([], text) if text.strip() else None
    return text, words, (time.perf_counter() - t0) * 1e3


def _wait_ms(policy: DecisionPolicy, pause: Pause, tail: bool = False) -> float:
    """The live decision's wait at this pause: evidence counts only once it has arrived.

    `tail`: the words evidence is the tail's (`Pause.tail_words`), not the whole turn's."""
    if policy.detector == "silence":
        return policy.silence_ms
    words, words_ready = pause.words, pause.words_ready_ms
    if tail:
        words, words_ready = pause.tail_words, pause.tail_ready_ms or pause.words_ready_ms
    text = pause.tail_transcript if tail else pause.transcript
    # An empty transcript is no words evidence, as live: the STT stage passes no empty text on,
    # so the words are never scored and the decision keeps its prior (or the audio's word).
    evidence = Evidence(
        0,
        smart_turn=pause.smart_turn,
        words=words if text.strip() else None,
        transcript=text if text.strip() else None,
    )
    ready = {
        "smart_turn": pause.audio_ready_ms,
        "words": words_ready,
        "fused": max(pause.audio_ready_ms, words_ready),
    }[policy.detector]
    prior_wait = policy.wait_ms(policy.prior)
    if prior_wait <= ready:  # the prior decided before the evidence arrived
        return prior_wait
    p, _ = policy.probability(evidence)
    return max(ready, policy.wait_ms(p))


def replay(
    turns: Sequence[TurnPauses], policy: DecisionPolicy, tail: bool = False
) -> dict[str, Any]:
    """False cut-off rate and endpoint delays of one policy over the gathered evidence."""
    cut = 0
    delays: list[float] = []
    for turn in turns:
        holds = [p for p in turn.pauses if not p.final]
        finals = [p for p in turn.pauses if p.final]
        if any(
            p.duration_ms is not None and p.duration_ms > _wait_ms(policy, p, tail) for p in holds
        ):
            cut += 1
            continue
        if finals:
            last = finals[0]
            vad_lag_ms = (last.eos_s - turn.eos_s) * 1e3
            delays.append(vad_lag_ms + _wait_ms(policy, last, tail))
    n = len(turns)
    return {
        "false_cutoff_rate": round(cut / n, 4) if n else None,
        "endpoint_mean_ms": round(float(np.mean(delays)), 1) if delays else None,
        "endpoint_p50_ms": round(float(np.median(delays)), 1) if delays else None,
        "endpoint_p95_ms": round(float(np.percentile(delays, 95)), 1) if delays else None,
        "answered": len(delays),
    }


def curves(turns: Sequence[TurnPauses], base: DecisionPolicy) -> dict[str, list[dict[str, Any]]]:
    """One curve per policy: VAD only, Smart Turn only, words only, fused."""
    out: dict[str, list[dict[str, Any]]] = {}
    out["vad"] = [
        {"knob": ms, **replay(turns, replace(base, detector="silence", silence_ms=ms))}
        for ms in SILENCES_MS
    ]
    for detector in ("smart_turn", "words", "fused"):
        out[detector] = [
            {"knob": t, **replay(turns, replace(base, detector=detector, threshold=t))}
            for t in THRESHOLDS
        ]
    if any(p.tail_ready_ms is not None for t in turns for p in t.pauses):
        out["words_tail"] = [
            {"knob": t, **replay(turns, replace(base, detector="words", threshold=t), tail=True)}
            for t in THRESHOLDS
        ]
    return out


def operating_points(curve: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """The smallest mean endpoint delay at each false cut-off target."""
    points: dict[str, dict[str, Any] | None] = {}
    for target in TARGETS:
        ok = [
            c
            for c in curve
            if c["false_cutoff_rate"] is not None
            and c["false_cutoff_rate"] <= target
            and c["endpoint_mean_ms"] is not None
        ]
        points[f"{round(target * 100)}%"] = (
            min(ok, key=lambda c: c["endpoint_mean_ms"]) if ok else None
        )
    return points


def sweep_results(turns: Sequence[TurnPauses], base: DecisionPolicy) -> dict[str, Any]:
    drawn = curves(turns, base)
    holds = sum(1 for t in turns for p in t.pauses if not p.final)
    return {
        "turns": len(turns),
        "holds": holds,
        "policy": base.__dict__,
        "default": replay(turns, base),
        "curves": drawn,
        "operating_points": {name: operating_points(curve) for name, curve in drawn.items()},
        "pauses": [
            {
                "id": t.case_id,
                "audio_kind": t.audio_kind,
                "eos_s": t.eos_s,
                "pauses": [p.__dict__ for p in t.pauses],
            }
            for t in turns
        ],
    }
