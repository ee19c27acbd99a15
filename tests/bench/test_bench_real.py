"""`voice bench` on the real clips: CI's regression gate.

Every clip it plays is checked (answered, no failure, transcript, latency where one applies),
and the run must stay close to today's figures. The thresholds below derive from the committed
run `bench/results/2026-11-30-real-x2-all-peers.json` (ours, 2 runs of the 5 clips on the
2-core AMD EPYC dev machine, peers interleaved), with a margin for a noisy CI machine of roughly
1.5x on latency. Retune them from a fresh run when the agent changes on purpose; a failure
otherwise means a regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from voice.config import STAGES

pytestmark = pytest.mark.slow

CLIPS = ("hello-world", "weather-question", "lecture-a", "lecture-b", "lecture-c")
# Clips without a mid-turn pause: the agent must never cut these off.
CLEAN_CLIPS = ("hello-world", "weather-question", "lecture-a")

# TTFA p50 over the answered turns: 1132 ms measured; 1.5x for a noisy machine.
BUDGET_MS = 1700
# Any single answered clip: 2728 ms measured at worst (lecture-c, a 20 s turn); 1.5x.
MAX_CLIP_TTFA_MS = 4100
# Endpoint delay (EoS -> commit) on a clean clip: 360-800 ms measured (the `words` decision
# answers 200 ms into the pause once its evidence has arrived, or after the prior's ~750 ms
# when the transcript is late); 1.5x.
MAX_CLEAN_ENDPOINT_MS = 1200
# Corpus WER: 0.0 measured; per clip: 0.0.
MAX_WER = 0.05
MAX_CLIP_WER = 0.2
# False cut-offs on the clean clips: none measured, none allowed.
MAX_FALSE_CUTOFF_CLEAN = 0.0
# False cut-offs over all 5 clips: 0.0 measured (the previous 300 ms silence rule: 0.40). One
# clip is allowed: on a machine so loaded that a pause's evidence comes later than the prior's
# ~750 ms wait, lecture-c's 780 ms hold (after "...take no account of") can still be cut.
MAX_FALSE_CUTOFF_ALL = 0.20


def run_bench(corpus, out, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice", "bench", str(corpus), "--json", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_bench_on_real_corpus_stays_close_to_todays_figures(real_corpus, tmp_path):
    out = tmp_path / "results.json"
    result = run_bench(
        real_corpus,
        out,
        "--runs",
        "1",
        "--budget",
        str(BUDGET_MS),
        "--max-false-cutoff",
        str(MAX_FALSE_CUTOFF_ALL),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "TTFA p50" in result.stdout
    results = json.loads(out.read_text())
    assert results["runs"] == 1 and results["peers"] == {}
    cases = {c["id"]: c for c in results["cases"]}
    assert list(cases) == list(CLIPS)

    for clip, case in cases.items():
        assert "error" not in case, case
        assert case["answered"] is True, case
        assert case["transcript"], case
        assert case["wer"] is not None and case["wer"] <= MAX_CLIP_WER, case
        if case["false_cutoff"]:
            assert case["ttfa_ms"] is None, case
            continue
        assert 0 < case["ttfa_ms"] <= MAX_CLIP_TTFA_MS, case
        assert set(case["spans"]) >= set(STAGES), (clip, case["spans"].keys())

    clean = [cases[clip] for clip in CLEAN_CLIPS]
    clean_cutoffs = sum(bool(c["false_cutoff"]) for c in clean) / len(clean)
    assert clean_cutoffs <= MAX_FALSE_CUTOFF_CLEAN, [c["id"] for c in clean if c["false_cutoff"]]
    for case in clean:
        assert 0 <= case["endpoint_ms"] <= MAX_CLEAN_ENDPOINT_MS, case
    assert results["false_cutoff_rate"] <= MAX_FALSE_CUTOFF_ALL
    assert results["ttfa_ms"]["p50"] <= BUDGET_MS
    assert results["wer"] is not None and results["wer"] <= MAX_WER
    assert results["wer_by_kind"]["wideband"] == results["wer"]  # the real clips are wideband
    assert results["errors"] == 0
    assert results["bargein_stop_ms"] is None and results["false_bargein_rate"] is None
    # the results describe themselves
    assert results["git"]["commit"] and results["versions"]["faster-whisper"]
    threads = results["threads"]["ours"]
    assert {"vad": 1, "stt": 1, "llm": 2, "tts": 2}.items() <= threads.items(), threads
    assert [o["id"] for o in results["order"]] == list(CLIPS)


def test_bench_refuses_a_folder_without_manifest(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "voice", "bench", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "manifest.jsonl" in result.stderr
    assert "Traceback" not in result.stderr
