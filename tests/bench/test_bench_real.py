"""`voice bench` on the real clips, as CI's regression gate with a loose budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from voice.config import STAGES

pytestmark = pytest.mark.slow

LOOSE_BUDGET_MS = "2000"


def test_bench_on_real_corpus_completes_and_meets_a_loose_budget(real_corpus, tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice",
            "bench",
            str(real_corpus),
            "--runs",
            "1",
            "--json",
            str(out),
            "--budget",
            LOOSE_BUDGET_MS,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TTFA p50" in result.stdout
    results = json.loads(out.read_text())
    assert results["runs"] == 1 and results["peers"] == {}
    assert [c["id"] for c in results["cases"]] == [
        "hello-world",
        "weather-question",
        "lecture-a",
        "lecture-b",
        "lecture-c",
    ]
    clean = [c for c in results["cases"] if c["id"] in ("hello-world", "weather-question")]
    for case in clean:
        assert case["ttfa_ms"] is not None and case["ttfa_ms"] > 0, case
        assert set(case["spans"]) >= set(STAGES), case["spans"].keys()
    assert results["wer"] is not None and results["wer"] < 0.3
    assert results["bargein_stop_ms"] is None and results["false_bargein_rate"] is None


def test_bench_refuses_a_folder_without_manifest(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "voice", "bench", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "manifest.jsonl" in result.stderr
    assert "Traceback" not in result.stderr
