"""The benchmark report: files written, self-contained, and robust to partial results.

No models are loaded: the results dict is built by hand with known numbers, so the report's
claims (which run is the median, which stage overran) can be checked exactly.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from bench.report import write_report
from bench.report_data import STAGES, Span, critical_path, turn_views

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BUDGET = {
    "total_ms": 500,
    "stages": {
        "endpoint": 200,
        "stt": 80,
        "llm.ttft": 60,
        "llm.clause": 60,
        "tts.ttfb": 80,
        "transport": 20,
    },
}


def spans(**stages: tuple[float, float]) -> dict[str, dict[str, float]]:
    return {
        name.replace("_", "."): {"start_ms": a, "end_ms": b, "ms": b - a}
        for name, (a, b) in stages.items()
    }


def turn(case_id: str, run: int, ttfa: float | None, span_map: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": case_id,
        "run": run,
        "kind": "turn",
        "ttfa_ms": ttfa,
        "false_cutoff": False,
        "transcript": "what is the weather <b>today</b>",
        "reply": "Sunny.",
        "wer": 0.0,
        "endpoint_ms": 300.0,
        "first_audio_ms": ttfa,
        "audio_end_ms": None if ttfa is None else ttfa + 2000.0,
        "spans": span_map,
    }


def fast_spans(shift: float) -> dict[str, Any]:
    """Speculative turn: STT/LLM/TTS run under the endpoint wait; audio gated on the commit."""
    return spans(
        endpoint=(0.0, 300.0),
        stt=(60.0, 110.0),
        llm_ttft=(115.0, 170.0),
        llm_clause=(170.0, 220.0),
        tts_ttfb=(220.0, 290.0),
        transport=(300.0, 310.0 + shift),
    )


SLOW_LLM = spans(
    endpoint=(0.0, 300.0),
    stt=(60.0, 110.0),
    llm_ttft=(115.0, 400.0),
    llm_clause=(400.0, 450.0),
    tts_ttfb=(450.0, 530.0),
    transport=(530.0, 545.0),
)


def stats(p50: float, p95: float) -> dict[str, float]:
    return {"p50": p50, "p95": p95}


@pytest.fixture
def results() -> dict[str, Any]:
    cases = [
        turn("weather-01", 0, 400.0, fast_spans(90.0)),
        turn("weather-01", 1, 380.0, fast_spans(70.0)),
        turn("weather-01", 2, 450.0, fast_spans(140.0)),
        turn("slow-llm-01", 0, 545.0, SLOW_LLM),
        turn("mumble-01", 0, None, {}),
        {"id": "stop-01", "run": 0, "kind": "barge_in", "stop_ms": 850.0, "false_bargein": None},
        {"id": "yeah-01", "run": 0, "kind": "backchannel", "stop_ms": None, "false_bargein": False},
    ]
    peer_cases = [
        {"id": "weather-01", "run": r, "kind": "turn", "ttfa_ms": 800.0 + r, "spans": {}}
        for r in range(3)
    ]
    return {
        "corpus": "bench/corpus/synth",
        "runs": 3,
        "created": "2026-11-30T04:00:00Z",
        "machine": {"cpu": "test-cpu", "cores": 2, "python": "3.11.7"},
        "config": {"llm": "gemma3"},
        "budget": BUDGET,
        "ttfa_ms": {"n": 4, "p50": 425.0, "p95": 540.0, "mean": 443.75},
        "stages_ms": {stage: stats(60.0, 120.0) for stage in STAGES},
        "false_cutoff_rate": 0.0,
        "endpoint_ms": {"mean": 300.0, "p50": 300.0, "p95": 300.0},
        "bargein_stop_ms": {"n": 1, "p50": 850.0, "p95": 850.0},
        "false_bargein_rate": 0.0,
        "wer": 0.08,
        "cases": cases,
        "peers": {
            "pipecat": {
                "ttfa_ms": {"n": 3, "p50": 850.0, "p95": 1080.0, "mean": 900.0},
                "stages_ms": None,
                "false_cutoff_rate": None,
                "endpoint_ms": None,
                "bargein_stop_ms": None,
                "false_bargein_rate": None,
                "wer": None,
                "cases": peer_cases,
            },
            "livekit_same_providers": None,
        },
    }


def check_self_contained(html: str) -> None:
    assert html.startswith("<!doctype html>")
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link\b", html, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", html, re.IGNORECASE)
    assert "@import" not in html and "url(" not in html


def check_pngs(paths: list[Path]) -> None:
    names = {p.name for p in paths}
    assert {"waterfall.png", "ttfa_cdf.png", "stages.png"} <= names
    for path in paths:
        if path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(PNG_SIGNATURE)
            assert len(data) < 300_000


def test_full_report(results: dict[str, Any], tmp_path: Path) -> None:
    html_path, png_dir = tmp_path / "out" / "report.html", tmp_path / "png"
    written = write_report(results, html_path, png_dir)

    assert written[0] == html_path and all(p.is_file() for p in written)
    check_pngs(written)
    html = html_path.read_text(encoding="utf-8")
    check_self_contained(html)
    for case_id in ("weather-01", "slow-llm-01", "mumble-01", "stop-01", "yeah-01"):
        assert case_id in html
    for stage in STAGES:
        assert stage in html
    assert "data:image/png;base64," in html and "<svg" in html
    # the over-budget turn is flagged and the stage that overran is named
    assert "OVER: llm.ttft +225 ms over its 60 ms share" in html
    assert "Over-budget turns: <b>1 of 2</b> timed" in html
    # median-TTFA run of three is shown, and ours/peer ratios are computed
    assert "TTFA 400 ms" in html and "median of 3 runs (run 0)" in html
    assert "0.50×" in html and "n/a" in html
    assert "pipecat" in html and "livekit (same providers)" in html
    # transcripts are escaped, not injected
    assert "<b>today</b>" not in html and "&lt;b&gt;today&lt;/b&gt;" in html


def test_html_only_when_no_png_dir(results: dict[str, Any], tmp_path: Path) -> None:
    written = write_report(results, tmp_path / "report.html")
    assert written == [tmp_path / "report.html"]
    assert list(tmp_path.iterdir()) == [tmp_path / "report.html"]


def test_without_peers(results: dict[str, Any], tmp_path: Path) -> None:
    del results["peers"]
    html_path = tmp_path / "report.html"
    write_report(results, html_path)
    html = html_path.read_text(encoding="utf-8")
    check_self_contained(html)
    assert "pipecat" not in html and "slow-llm-01" in html


def test_without_cases(results: dict[str, Any], tmp_path: Path) -> None:
    results["cases"] = []
    results["peers"]["pipecat"]["cases"] = None
    written = write_report(results, tmp_path / "report.html", tmp_path / "png")
    check_pngs(written)
    html = written[0].read_text(encoding="utf-8")
    check_self_contained(html)
    assert "No turn cases" in html and "No overlay cases" in html


def null_everything(value: Any) -> Any:
    """Every metric None, keeping the dict's shape (and the case ids, which are not metrics)."""
    if isinstance(value, dict):
        return {k: v if k in ("id", "kind") else null_everything(v) for k, v in value.items()}
    if isinstance(value, list):
        return [null_everything(v) for v in value]
    return None


def test_every_metric_none(results: dict[str, Any], tmp_path: Path) -> None:
    nulled = null_everything(copy.deepcopy(results))
    written = write_report(nulled, tmp_path / "report.html", tmp_path / "png")
    check_pngs(written)
    html = written[0].read_text(encoding="utf-8")
    check_self_contained(html)
    assert "n/a" in html and "weather-01" in html


def test_empty_results(tmp_path: Path) -> None:
    written = write_report({}, tmp_path / "report.html", tmp_path / "png")
    check_pngs(written)
    check_self_contained(written[0].read_text(encoding="utf-8"))


def test_critical_path_ignores_hidden_work() -> None:
    """Speculative STT/LLM under the endpoint wait cost nothing; the gating commit is charged."""
    hidden = [Span(s, v["start_ms"], v["end_ms"]) for s, v in fast_spans(90.0).items()]
    path = critical_path(hidden, 400.0)
    charged = {seg.stage: seg.ms for seg in path}
    assert sum(seg.ms for seg in path) == pytest.approx(400.0)
    assert charged == {"endpoint": 300.0, "transport": 100.0}


def test_median_run_and_blame(results: dict[str, Any]) -> None:
    views = {v.id: v for v in turn_views(results)}
    assert views["weather-01"].ttfa == 400.0 and views["weather-01"].blame is None
    slow = views["slow-llm-01"]
    assert slow.blame_stage == "llm.ttft"
    assert sum(slow.contributions.values()) == pytest.approx(545.0)
    assert views["mumble-01"].ttfa is None and views["mumble-01"].path == []


def test_metadata_section_says_what_ran(results: dict[str, Any], tmp_path: Path) -> None:
    results["git"] = {"commit": "abc123def", "dirty": True}
    results["versions"] = {"pipecat-ai": "1.14.0", "livekit-agents": None}
    results["warm_up"] = {"per_session": "LLM prefix <before> audio"}
    results["threads"] = {"ours": {"stt": 1, "llm": 2}, "pipecat": {"tts": 2, "end_of_turn": 1}}
    results["agents"] = {
        "pipecat": {"end_of_turn": {"model": "smart-turn-v3.2-cpu", "version": "pipecat-ai 1.14"}}
    }
    results["order"] = [
        {"run": 0, "id": "weather-01", "agents": ["ours", "pipecat"]},
        {"run": 0, "id": "slow-llm-01", "agents": ["pipecat", "ours"]},
    ]
    results["ratios"] = {"pipecat": {"matched_n": 3, "matched_ttfa_p50": 0.47}}
    html_path = tmp_path / "report.html"
    write_report(results, html_path)
    html = html_path.read_text(encoding="utf-8")
    check_self_contained(html)
    assert "<h2>What ran</h2>" in html
    assert "<code>abc123def</code> (dirty: uncommitted changes)" in html
    assert "pipecat-ai 1.14.0" in html and 'livekit-agents <span class="na">n/a' in html
    assert "&lt;before&gt;" in html and "<before>" not in html
    assert "smart-turn-v3.2-cpu" in html
    assert "weather-01</code>: ours → pipecat" in html
    assert "slow-llm-01</code>: pipecat → ours" in html
    # the headline ratio is the one on the turns both answered
    assert "0.47× <small>(n=3)</small>" in html


def test_metadata_section_of_an_old_results_file(results: dict[str, Any], tmp_path: Path) -> None:
    html_path = tmp_path / "report.html"
    write_report(results, html_path)  # no git, versions, threads or order keys
    html = html_path.read_text(encoding="utf-8")
    assert "<h2>What ran</h2>" in html and "Order of play: " in html
