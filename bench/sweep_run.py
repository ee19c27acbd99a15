"""Runs `voice bench CORPUS --sweep endpoint`: gathers evidence, replays the policies, draws the
trade-off plot, and (with `--compare`) places ours and the peers, measured live in the same run,
on it.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import html
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.corpus import load_corpus
from bench.sweep import gather, sweep_results
from voice.agent.end_of_turn import decision_policy
from voice.config import Config
from voice.providers.registry import load_models

LABELS = {
    "vad": "VAD only (fixed silence)",
    "smart_turn": "Smart Turn only",
    "words": "words only (LLM + cues)",
    "fused": "fused (words + Smart Turn)",
    "words_tail": "words of the last 3 s only (quick STT)",
}


def live_points(corpus_dir: Path, config: Config, compare: list[str]) -> dict[str, Any]:
    """False cut-off rate and mean endpoint delay of ours and each peer, run live."""
    from bench.agents import BenchAgent, OurAgent
    from bench.cli import peer_agents
    from bench.measure import summarize
    from bench.runner import run_corpus

    corpus = load_corpus(corpus_dir)
    corpus.cases = corpus.of_kind("turn")
    texts = {case.id: case.text for case in corpus.cases}
    with peer_agents(sorted(set(compare)), config) as peers:
        agents: list[BenchAgent] = [OurAgent(config), *peers]
        bench = asyncio.run(run_corpus(corpus, agents, 1))
    points: dict[str, Any] = {}
    for name, records in bench.cases.items():
        summary = summarize(records, texts)
        points[name] = {
            "false_cutoff_rate": summary["false_cutoff_rate"],
            "endpoint_mean_ms": (summary["endpoint_ms"] or {}).get("mean"),
            "endpoint_p50_ms": (summary["endpoint_ms"] or {}).get("p50"),
            "ttfa_p50_ms": summary["ttfa_ms"]["p50"],
            "ttfa_p95_ms": summary["ttfa_ms"]["p95"],
            "errors": summary["errors"],
        }
    return points


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    for name, curve in results["curves"].items():
        pts = sorted(
            (c["endpoint_mean_ms"], c["false_cutoff_rate"] * 100)
            for c in curve
            if c["endpoint_mean_ms"] is not None
        )
        if pts:
            xs, ys = zip(*pts, strict=True)
            label = LABELS.get(name, name)
            if name == results["policy"]["detector"]:
                label += " · default"
            ax.plot(xs, ys, marker="o", markersize=3, label=label)
    default = results["default"]
    if default.get("endpoint_mean_ms") is not None:
        ax.scatter(
            default["endpoint_mean_ms"],
            default["false_cutoff_rate"] * 100,
            marker="X",
            s=90,
            color="black",
            label="default config (replayed)",
            zorder=6,
        )
    markers = iter("s^vDP*<>")
    for name, point in (results.get("live") or {}).items():
        if point.get("endpoint_mean_ms") is None or point.get("false_cutoff_rate") is None:
            continue
        ax.scatter(
            point["endpoint_mean_ms"],
            point["false_cutoff_rate"] * 100,
            marker="*" if name == "ours" else next(markers),
            s=120 if name == "ours" else 60,
            label=f"{name} (live run)",
            zorder=5,
        )
    ax.axhline(5, color="grey", linestyle=":", linewidth=1)
    ax.axvline(400, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("mean endpoint delay from true end of speech (ms)")
    ax.set_ylabel("false cut-off rate (% of turns)")
    ax.set_title(
        f"End of turn: {results['corpus']} ({results['turns']} turns, {results['holds']} holds)",
        fontsize=10,
    )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=-1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _table_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, points in results["operating_points"].items():
        cells = []
        for target in ("5%", "10%"):
            point = points.get(target)
            cells.append(
                "none"
                if point is None
                else f"{point['endpoint_mean_ms']:.0f} ms (knob {point['knob']}, "
                f"{point['false_cutoff_rate'] * 100:.1f}% cut)"
            )
        default = results["default"] if name == results["policy"]["detector"] else None
        rows.append(
            (
                LABELS.get(name, name),
                cells[0],
                cells[1],
                ""
                if default is None
                else f"default: {default['false_cutoff_rate'] * 100:.1f}% "
                f"at {default['endpoint_mean_ms']} ms",
            )
        )
    return rows


def write_html(results: dict[str, Any], png: Path, path: Path) -> None:
    image = base64.b64encode(png.read_bytes()).decode()
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in _table_rows(results)
    )
    live = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{(p['false_cutoff_rate'] or 0) * 100:.1f}%</td>"
        f"<td>{p['endpoint_mean_ms']}</td><td>{p['ttfa_p50_ms']}</td><td>{p['ttfa_p95_ms']}</td></tr>"
        for n, p in (results.get("live") or {}).items()
    )
    path.write_text(
        f"""<!doctype html><meta charset="utf-8"><title>end-of-turn sweep</title>
<style>body{{font-family:sans-serif;max-width:900px;margin:2em auto}}td,th{{padding:3px 8px;
border-bottom:1px solid #ddd}}</style>
<h1>End-of-turn sweep: {html.escape(results["corpus"])}</h1>
<p>{results["turns"]} turns, {results["holds"]} mid-turn holds. Each curve sweeps one knob of a
policy over the same evidence; points are (mean endpoint delay, false cut-off rate).</p>
<img src="data:image/png;base64,{image}" style="max-width:100%">
<h2>Operating points (smallest mean endpoint delay)</h2>
<table><tr><th>policy</th><th>&le; 5% false cut-offs</th><th>&le; 10%</th><th></th></tr>{rows}
</table>
<h2>Live run, same corpus</h2>
<table><tr><th>agent</th><th>false cut-offs</th><th>mean endpoint ms</th><th>TTFA p50</th>
<th>TTFA p95</th></tr>{live}</table>
""",
        encoding="utf-8",
    )


def sweep_command(
    corpus_dir: Path,
    config: Config,
    json_path: Path | None,
    report_path: Path | None,
    compare: list[str],
    console: Console,
    err_console: Console,
) -> int:
    corpus = load_corpus(corpus_dir)
    for problem in corpus.problems:
        err_console.print(f"[yellow]skipped[/] {problem}", highlight=False, soft_wrap=True)
    # Every policy is replayed, so every evidence model is loaded, whatever the detector.
    evidence_config = dataclasses.replace(
        config, turn=dataclasses.replace(config.turn, detector="fused")
    )
    models = load_models(evidence_config)
    total = len(corpus.of_kind("turn"))
    done = [0]

    def progress(case_id: str) -> None:
        done[0] += 1
        err_console.print(f"evidence {done[0]}/{total}: {case_id}", highlight=False)

    turns = gather(corpus, models, config, progress)
    results: dict[str, Any] = {
        "corpus": str(corpus_dir),
        **sweep_results(turns, decision_policy(config)),
    }
    if compare:
        results["live"] = live_points(corpus_dir, config, compare)
    table = Table(title=f"end-of-turn sweep · {corpus_dir}")
    for column in ("policy", "≤ 5 % cut-offs", "≤ 10 %", ""):
        table.add_column(column)
    for row in _table_rows(results):
        table.add_row(*row)
    console.print(table)
    for name, point in (results.get("live") or {}).items():
        console.print(
            f"live {name}: false cut-offs {(point['false_cutoff_rate'] or 0) * 100:.1f}%, "
            f"mean endpoint {point['endpoint_mean_ms']} ms, TTFA p50 {point['ttfa_p50_ms']} ms"
        )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1) + "\n")
        console.print(f"results written to {json_path}")
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        png = report_path.with_suffix(".png")
        plot(results, png)
        write_html(results, png, report_path)
        console.print(f"report written to {report_path}, {png}")
    return 0
