"""The harness arithmetic: from what crossed the transport boundary to the metrics of CORPUS.md.

Pure functions over a `Recording` (the transport's clock readings plus what the agent reported
per turn), so the same arithmetic applies to our agent and to every peer, and tests can check it
on cases whose answers are known to the frame.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import jiwer
import numpy as np

from bench.corpus import Case
from voice.config import STAGES

NS_PER_MS = 1_000_000
FRAME_NS = 20 * NS_PER_MS  # one bot frame's playout
FALSE_PAUSE_MS = 300  # a reply held longer than this for a backchannel or noise: a false stop


@dataclass
class Recording:
    """What one case's run left at the transport boundary, on the monotonic clock."""

    origin_ns: int  # capture time of the first input sample
    output_ns: list[int]  # hand-over time of each 20 ms bot frame
    overlay_start_ns: int | None = None  # capture time of the overlay clip's first sample
    turns: list[dict[str, Any]] = field(default_factory=list)  # as reported by the agent
    error: str | None = None


def words(text: str) -> str:
    """Lower-case words; punctuation becomes a space so '10:30' and '10 30' agree."""
    return " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float | None:
    ref = words(reference)
    if not ref:
        return None
    return float(jiwer.wer(ref, words(hypothesis) or "<empty>"))


def _rel_ms(ns: int | None, zero_ns: int) -> float | None:
    return None if ns is None else round((ns - zero_ns) / NS_PER_MS, 1)


def _spans_rel(turn: dict[str, Any] | None, zero_ns: int) -> dict[str, dict[str, float | None]]:
    if not turn:
        return {}
    spans: dict[str, dict[str, float | None]] = {}
    for name, span in (turn.get("spans") or {}).items():
        start, end = span.get("start_ns"), span.get("end_ns")
        if start is None:
            continue
        spans[name] = {
            "start_ms": _rel_ms(start, zero_ns),
            "end_ms": _rel_ms(end, zero_ns),
            "ms": None if end is None else round((end - start) / NS_PER_MS, 1),
        }
    return spans


def _answering_turn(turns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The turn whose audio went out first (the agent's answer), else the last turn."""
    with_audio = [t for t in turns if t.get("first_audio_ns") is not None]
    if with_audio:
        return min(with_audio, key=lambda t: t["first_audio_ns"])
    return turns[-1] if turns else None


def _eot_predictions(turns: list[dict[str, Any]], zero_ns: int) -> list[dict[str, Any]]:
    """Every end-of-turn prediction the agent reported (probability `p`, and any parts it
    gave), at `at_ms` from `zero_ns`, in order."""
    found = [
        {**{k: v for k, v in p.items() if k != "at_ns"}, "at_ms": _rel_ms(p.get("at_ns"), zero_ns)}
        for turn in turns
        for p in turn.get("eot_predictions") or []
    ]
    return sorted(found, key=lambda p: (p["at_ms"] is None, p["at_ms"] or 0.0))


def _unmeasured_turn(case: Case, rec: Recording, run: int) -> dict[str, Any]:
    """A case that failed or timed out: an error, never a measurement (every metric null)."""
    return {
        "id": case.id,
        "run": run,
        "kind": case.kind,
        "audio_kind": case.audio_kind,
        "ttfa_ms": None,
        "false_cutoff": None,
        "false_cutoff_by": None,
        "answered": None,
        "transcript": " ".join(t.get("transcript", "") for t in rec.turns).strip(),
        "reply": " ".join(t.get("reply", "") for t in rec.turns).strip(),
        "wer": None,
        "endpoint_ms": None,
        "first_audio_ms": None,
        "audio_end_ms": None,
        "stall_ms": None,
        "spans": {},
        "eot_predictions": [],
        "stop_ms": None,
        "false_bargein": None,
        "error": rec.error,
    }


def stall_ms(output_ns: list[int], reply_starts_ns: set[int]) -> float | None:
    """Silence inside the agent's replies: how long the caller waited for a frame that was
    due, once a reply had begun. The playout runs as the loopback's does: each 20 ms frame
    plays when the previous one ends or when it is handed over, whichever is later; a wait
    before a reply's own first frame (`reply_starts_ns`) is a gap between replies, not a
    stall. None when there was no audio."""
    if not output_ns:
        return None
    stalled = 0
    play_end: int | None = None
    for handed in output_ns:
        if play_end is not None and handed > play_end and handed not in reply_starts_ns:
            stalled += handed - play_end
        play_end = max(play_end or handed, handed) + FRAME_NS
    return round(stalled / NS_PER_MS, 1)


def measure_turn(case: Case, rec: Recording, run: int) -> dict[str, Any]:
    assert case.eos_s is not None
    if rec.error:
        return _unmeasured_turn(case, rec, run)
    eos_ns = rec.origin_ns + round(case.rel(case.eos_s) * 1e9)
    first = rec.output_ns[0] if rec.output_ns else None
    last = rec.output_ns[-1] if rec.output_ns else None
    transcript = " ".join(t.get("transcript", "") for t in rec.turns).strip()
    reply = " ".join(t.get("reply", "") for t in rec.turns).strip()
    answer = _answering_turn(rec.turns)
    spans = _spans_rel(answer, eos_ns)
    commit = spans.get("endpoint", {}).get("end_ms")
    # A false cut-off: the answer's audio started before the user finished (inside a hold, or
    # over their speech), or the turn it answers was committed before they finished, so the
    # reply ignored their last words even if its audio came later. Neither its TTFA nor its
    # stage spans are latencies, and the statistics leave it out.
    cutoff_by = None
    if first is not None and first < eos_ns:
        cutoff_by = "audio_before_eos"
    elif commit is not None and commit < 0:
        cutoff_by = "commit_before_eos"
    false_cutoff = cutoff_by is not None
    return {
        "id": case.id,
        "run": run,
        "kind": case.kind,
        "audio_kind": case.audio_kind,
        "ttfa_ms": None if first is None or false_cutoff else _rel_ms(first, eos_ns),
        "false_cutoff": false_cutoff,
        "false_cutoff_by": cutoff_by,
        "answered": first is not None,
        "transcript": transcript,
        "reply": reply,
        "wer": wer(case.text, transcript),
        "endpoint_ms": commit,
        "first_audio_ms": _rel_ms(first, eos_ns),
        "audio_end_ms": _rel_ms(last, eos_ns),
        "stall_ms": stall_ms(
            rec.output_ns, {t["first_audio_ns"] for t in rec.turns if t.get("first_audio_ns")}
        ),
        "spans": spans,
        "eot_predictions": _eot_predictions(rec.turns, eos_ns),
        "stop_ms": None,
        "false_bargein": None,
    }


def measure_overlay(case: Case, rec: Recording, run: int) -> dict[str, Any]:
    """Barge-in, backchannel or noise played over the agent's answer to a priming turn."""
    assert case.onset_s is not None
    record: dict[str, Any] = {
        "id": case.id,
        "run": run,
        "kind": case.kind,
        "ttfa_ms": None,
        "false_cutoff": None,
        "transcript": " ".join(t.get("transcript", "") for t in rec.turns).strip(),
        "reply": " ".join(t.get("reply", "") for t in rec.turns).strip(),
        "wer": None,
        "endpoint_ms": None,
        "spans": {},
        "stop_ms": None,
        "false_bargein": None,
        "interrupted": any(bool(t.get("interrupted")) for t in rec.turns),
        **({"error": rec.error} if rec.error else {}),
    }
    if rec.error:
        return record  # failed or timed out: an error, never a measurement
    if rec.overlay_start_ns is None:
        record["error"] = "the agent never answered the priming turn"
        return record
    onset_ns = rec.overlay_start_ns + round((case.onset_s - case.start_s) * 1e9)
    # The reply playing at the onset ends where the agent's next reply (its answer to the
    # caller who cut in) begins: that answer's frames are not part of the stop.
    next_reply_ns = min(
        (t["first_audio_ns"] for t in rec.turns if (t.get("first_audio_ns") or 0) > onset_ns),
        default=None,
    )
    before = [t for t in rec.output_ns if t <= onset_ns]
    after = [
        t for t in rec.output_ns if t > onset_ns and (next_reply_ns is None or t < next_reply_ns)
    ]
    # Barge-in judgement (agents that report it): how long the reply was held for this sound,
    # and whether it played on afterwards. A hold longer than FALSE_PAUSE_MS is heard as a
    # false stop: on a backchannel or a noise it counts as a false barge-in.
    pauses = [t["paused_ms"] for t in rec.turns if t.get("paused_ms") is not None]
    record["paused_ms"] = round(sum(pauses), 1) if pauses else None
    record["resumed"] = any(bool(t.get("resumed")) for t in rec.turns) if pauses else None
    # Why it stopped or played on: every barge-in decision with its inputs, in order.
    # `at_ms` counts from the sound's onset (the decisions' time is media time, like onset_ns).
    decisions = [
        {"at_ms": _rel_ms(d.get("at_ns"), onset_ns), **{k: v for k, v in d.items() if k != "at_ns"}}
        for t in rec.turns
        for d in t.get("bargein") or []
    ]
    if decisions:
        record["bargein"] = decisions
    last_of_reply = (after or before)[-1] if rec.output_ns else None
    record["first_audio_ms"] = _rel_ms(rec.output_ns[0], onset_ns) if rec.output_ns else None
    record["audio_end_ms"] = _rel_ms(last_of_reply, onset_ns)
    # Stop latency: last bot frame out after the sound began. If the agent had already stopped
    # before the onset there is nothing to measure: stop latency and false barge-in are null.
    record["talking_at_onset"] = bool(after)
    if not after:
        return record
    record["stop_ms"] = round((after[-1] - onset_ns) / NS_PER_MS, 1)
    if case.kind != "barge_in":
        held_too_long = (record["paused_ms"] or 0.0) > FALSE_PAUSE_MS
        record["false_bargein"] = record["interrupted"] or held_too_long
    return record


def measure_case(case: Case, rec: Recording, run: int) -> dict[str, Any]:
    if case.kind == "turn":
        return measure_turn(case, rec, run)
    return measure_overlay(case, rec, run)


# -- aggregation -------------------------------------------------------------------------------


def _stats(values: list[float], with_n: bool = True) -> dict[str, Any] | None:
    if not values:
        return None
    array = np.asarray(values, dtype=np.float64)
    out: dict[str, Any] = {
        "p50": round(float(np.percentile(array, 50)), 1),
        "p95": round(float(np.percentile(array, 95)), 1),
        "mean": round(float(array.mean()), 1),
    }
    if with_n:
        out = {"n": len(values), **out}
    return out


def _corpus_wer(cases: list[dict[str, Any]], texts: dict[str, str]) -> float | None:
    references = [words(texts[c["id"]]) for c in cases if words(texts.get(c["id"], ""))]
    hypotheses = [
        words(c.get("transcript", "")) or "<empty>" for c in cases if words(texts.get(c["id"], ""))
    ]
    if not references:
        return None
    return round(float(jiwer.wer(references, hypotheses)), 4)


AUDIO_KINDS = ("wideband", "phone", "noisy")


def _wer_by_kind(turns: list[dict[str, Any]], texts: dict[str, str]) -> dict[str, float | None]:
    """Corpus-level WER per audio kind (wideband, phone, noisy, and any kind the corpus names);
    null for a kind the corpus has no turn of."""
    kinds = list(AUDIO_KINDS)
    kinds += sorted({str(c.get("audio_kind")) for c in turns} - {*AUDIO_KINDS, "None"})
    return {
        kind: _corpus_wer([c for c in turns if c.get("audio_kind", "wideband") == kind], texts)
        for kind in kinds
    }


def summarize(cases: list[dict[str, Any]], texts: dict[str, str]) -> dict[str, Any]:
    """The CORPUS.md result keys for one agent; `null` where the corpus has no such cases.

    A case that failed or timed out is counted in `errors` and measured nowhere. A false
    cut-off turn counts in `false_cutoff_rate` (and WER: its transcript is what the agent
    heard) but in no latency: not TTFA, not the endpoint delay, not the stage spans, which
    would otherwise look faster for having answered too early.
    """
    measured = [c for c in cases if not c.get("error")]
    turns = [c for c in measured if c["kind"] == "turn"]
    timed = [c for c in turns if not c.get("false_cutoff")]
    barge = [c for c in measured if c["kind"] == "barge_in" and c.get("stop_ms") is not None]
    non_stop = [
        c
        for c in measured
        if c["kind"] in ("backchannel", "noise") and c.get("false_bargein") is not None
    ]
    ttfa = [c["ttfa_ms"] for c in timed if c.get("ttfa_ms") is not None]
    stages: dict[str, Any] = {}
    for stage in STAGES:
        values = [
            c["spans"][stage]["ms"]
            for c in timed
            if stage in c.get("spans", {}) and c["spans"][stage]["ms"] is not None
        ]
        stats = _stats(values, with_n=False)
        stages[stage] = None if stats is None else {"p50": stats["p50"], "p95": stats["p95"]}
    endpoint = [c["endpoint_ms"] for c in timed if c.get("endpoint_ms") is not None]
    endpoint_stats = _stats(endpoint, with_n=False)
    false_cutoffs = sum(bool(c["false_cutoff"]) for c in turns)
    stalls = [c["stall_ms"] for c in timed if c.get("stall_ms") is not None]
    return {
        "ttfa_ms": _stats(ttfa) or {"n": 0, "p50": None, "p95": None, "mean": None},
        "stages_ms": stages,
        "false_cutoff_rate": round(false_cutoffs / len(turns), 4) if turns else None,
        "false_cutoffs": false_cutoffs,
        "turns_measured": len(turns),
        "unanswered_rate": (
            round(sum(not c.get("answered") for c in turns) / len(turns), 4) if turns else None
        ),
        "endpoint_ms": endpoint_stats,
        "stall_ms": (
            None if not stalls else {**(_stats(stalls, with_n=False) or {}), "max": max(stalls)}
        ),
        "bargein_stop_ms": _stats([c["stop_ms"] for c in barge]),
        "false_bargein_rate": (
            round(sum(bool(c["false_bargein"]) for c in non_stop) / len(non_stop), 4)
            if non_stop
            else None
        ),
        "wer": _corpus_wer(turns, texts),
        "wer_by_kind": _wer_by_kind(turns, texts) if turns else None,
        "errors": sum(1 for c in cases if c.get("error")),
        "cases": cases,
    }


def ratio(ours: float | None, peer: float | None) -> float | None:
    if ours is None or peer is None or peer == 0 or math.isnan(peer):
        return None
    return round(ours / peer, 3)
