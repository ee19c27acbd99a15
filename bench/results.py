"""Assembling the results document (the keys of CORPUS.md) and the budget gate."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import ratio, summarize
from bench.runner import BenchRun
from voice.config import STAGES, Config

OURS = "ours"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def build_results(
    corpus_dir: Path, bench: BenchRun, runs: int, config: Config, texts: dict[str, str]
) -> dict[str, Any]:
    ours = summarize(bench.cases.get(OURS, []), texts)
    peers = {
        name: summarize(records, texts) for name, records in bench.cases.items() if name != OURS
    }
    results: dict[str, Any] = {
        "corpus": str(corpus_dir),
        "runs": runs,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "config": config.to_dict(),
        "budget": {"total_ms": config.budget.total_ms, "stages": dict(config.budget.stages)},
        **ours,
        "skipped": bench.skipped,
        "peers": peers,
    }
    results["ratios"] = peer_ratios(results)
    return results


def _ttfa_by_run(cases: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    return {
        (case["id"], case["run"]): case["ttfa_ms"]
        for case in cases
        if case["kind"] == "turn" and case.get("ttfa_ms") is not None
    }


def peer_ratios(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ours/peer TTFA ratios, over all answered turns and over the turns both answered.

    The matched ratio is the fair one when one agent cuts some turns off (their TTFA is not
    used) and the other answers them: long turns with pauses are then in one sample only.
    """
    ours = _ttfa_by_run(results.get("cases", []))
    out: dict[str, dict[str, Any]] = {}
    for name, peer in (results.get("peers") or {}).items():
        theirs = _ttfa_by_run(peer.get("cases", []))
        both = sorted(set(ours) & set(theirs))
        ours_matched = [ours[key] for key in both]
        theirs_matched = [theirs[key] for key in both]
        out[name] = {
            "ttfa_p50": ratio(results["ttfa_ms"]["p50"], peer["ttfa_ms"]["p50"]),
            "ttfa_p95": ratio(results["ttfa_ms"]["p95"], peer["ttfa_ms"]["p95"]),
            "matched_n": len(both),
            "matched_ttfa_p50": ratio(
                _percentile(ours_matched, 50), _percentile(theirs_matched, 50)
            ),
            "matched_ttfa_p95": ratio(
                _percentile(ours_matched, 95), _percentile(theirs_matched, 95)
            ),
        }
    return out


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def budget_gate(results: dict[str, Any], budget_ms: float) -> str | None:
    """None when TTFA p50 is within `budget_ms`; otherwise a message naming the worst stage."""
    p50 = results["ttfa_ms"]["p50"]
    if p50 is not None and p50 <= budget_ms:
        return None
    shares: dict[str, int] = results["budget"]["stages"]
    over: dict[str, float] = {}
    for stage in STAGES:
        stats = results["stages_ms"].get(stage)
        if stats and stats["p50"] is not None and stage in shares:
            over[stage] = stats["p50"] - shares[stage]
    worst = max(over, key=lambda s: over[s]) if over else None
    if p50 is None:
        return "no turn was answered, so TTFA p50 is undefined"
    message = f"TTFA p50 {p50:.0f} ms exceeds the budget of {budget_ms:.0f} ms"
    if worst is not None:
        share = shares[worst]
        message += (
            f"; the stage furthest over its share is {worst} "
            f"(p50 {results['stages_ms'][worst]['p50']:.0f} ms vs {share} ms)"
        )
    return message
