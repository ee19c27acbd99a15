"""`voice bench` and `voice corpus synth`: the latency lab's command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.agents import BenchAgent, OurAgent
from bench.corpus import load_corpus
from bench.results import (
    DEFAULT_MAX_FALSE_CUTOFF,
    budget_gate,
    build_results,
    failures,
    false_cutoff_gate,
)
from bench.runner import priming_case, run_corpus
from voice.config import STAGES, Config
from voice.providers.llm_profiles import prompt_name

if TYPE_CHECKING:
    from bench.peers.livekit_eot import EndOfTurn as LiveKitEndOfTurn
    from bench.peers.pipecat_eot import EndOfTurn as PipecatEndOfTurn

# `--compare` names; each adds the peer's stock and same-providers variants. The `_vad` ones
# replace the peer's end-of-turn model by its VAD-only endpointing.
PEERS = ("pipecat", "livekit", "pipecat_vad", "livekit_vad")

# Exit codes
EXIT_OVER_BUDGET = 1  # --budget: TTFA p50 over it, false cut-offs over the cap, or failures
EXIT_SKIPPED = 3  # some cases were skipped or failed (without --budget)


@contextlib.contextmanager
def peer_agents(names: list[str], config: Config) -> Iterator[list[BenchAgent]]:
    """Both variants of each requested peer; the stock ones share one local LLM server."""
    agents: list[BenchAgent] = []
    with contextlib.ExitStack() as stack:
        llm_url: str | None = None
        if names:
            from bench.peers.llm_server import start_llm_server
            from voice.providers.llm_profiles import PROFILES, model_path, uses_ascii_vocab

            prompt = prompt_name(config.llm)
            server = start_llm_server(
                model_path(config.llm),
                threads=config.llm.threads,
                prompt=prompt,
                ascii_text=uses_ascii_vocab(config.llm),
                chat_template=PROFILES[config.llm.profile].chat_template,
            )
            llm_url = stack.enter_context(server)
        for name in names:
            if name.startswith("pipecat"):
                from bench.peers.pipecat_peer import PipecatPeer

                pipecat_eot: PipecatEndOfTurn = "vad" if name.endswith("_vad") else "smart_turn"
                agents += [
                    PipecatPeer("stock", config, llm_url, end_of_turn=pipecat_eot),
                    PipecatPeer("same_providers", config, end_of_turn=pipecat_eot),
                ]
            elif name.startswith("livekit"):
                from bench.peers.livekit_peer import LiveKitPeer

                livekit_eot: LiveKitEndOfTurn = "vad" if name.endswith("_vad") else "audio_model"
                agents += [
                    LiveKitPeer("stock", config, llm_url, end_of_turn=livekit_eot),
                    LiveKitPeer("same_providers", config, end_of_turn=livekit_eot),
                ]
        yield agents


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and unit == "%":
        return f"{value * 100:.1f}%"
    return f"{value:.0f}{unit}" if isinstance(value, int | float) else str(value)


def print_summary(console: Console, results: dict[str, Any]) -> None:
    columns = {"ours": results, **results.get("peers", {})}
    table = Table(title=f"voice bench · {results['corpus']} · {results['runs']} run(s)")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")

    def row(label: str, getter: Any, unit: str = "") -> None:
        values = []
        for data in columns.values():
            try:
                values.append(_fmt(getter(data), unit))
            except (KeyError, TypeError):
                values.append("n/a")
        table.add_row(label, *values)

    row("TTFA p50 ms", lambda d: d["ttfa_ms"]["p50"])
    row("TTFA p95 ms", lambda d: d["ttfa_ms"]["p95"])
    row("turns answered", lambda d: d["ttfa_ms"]["n"])
    for stage in STAGES:
        row(
            f"{stage} p50 / p95 ms",
            lambda d, s=stage: (
                f"{_fmt(d['stages_ms'][s]['p50'])} / {_fmt(d['stages_ms'][s]['p95'])}"
                if d["stages_ms"].get(s)
                else None
            ),
        )
    row("endpoint delay p50 ms", lambda d: (d["endpoint_ms"] or {}).get("p50"))
    row("stall inside replies p95 ms", lambda d: (d.get("stall_ms") or {}).get("p95"))
    row("false cut-off rate", lambda d: d["false_cutoff_rate"], "%")
    row("WER", lambda d: d["wer"], "%")
    for kind in ("wideband", "phone", "noisy"):
        row(f"WER {kind}", lambda d, k=kind: (d.get("wer_by_kind") or {}).get(k), "%")
    row("failed cases", lambda d: d.get("errors"))
    row("barge-in stop p50 ms", lambda d: (d["bargein_stop_ms"] or {}).get("p50"))
    row("false barge-in rate", lambda d: d["false_bargein_rate"], "%")
    console.print(table)
    ours_cutoffs = _fmt(results.get("false_cutoff_rate"), "%")
    for name, ratios in results.get("ratios", {}).items():
        theirs = _fmt((results.get("peers", {}).get(name) or {}).get("false_cutoff_rate"), "%")
        console.print(
            f"ours/{name} on the {ratios.get('matched_n', 0)} turns both answered: TTFA p50 "
            f"×{_fmt_ratio(ratios.get('matched_ttfa_p50'))}, "
            f"p95 ×{_fmt_ratio(ratios.get('matched_ttfa_p95'))} "
            f"(false cut-offs: ours {ours_cutoffs}, {name} {theirs}); over all answered turns: "
            f"p50 ×{_fmt_ratio(ratios['ttfa_p50'])}, p95 ×{_fmt_ratio(ratios['ttfa_p95'])}",
            highlight=False,
        )


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def bench_command(
    corpus_dir: Path,
    runs: int,
    json_path: Path | None,
    report_path: Path | None,
    png_dir: Path | None,
    compare: list[str],
    config: Config,
    budget_ms: float | None,
    console: Console,
    err_console: Console,
    only: list[str] | None = None,
    max_false_cutoff: float = DEFAULT_MAX_FALSE_CUTOFF,
) -> int:
    """Run the benchmark; return the process exit code."""
    corpus = load_corpus(corpus_dir)
    primer = priming_case(corpus)  # chosen before --case filters the list
    if only:
        missing = sorted(set(only) - {case.id for case in corpus.cases})
        if missing:
            err_console.print(f"[red]error:[/] no case with id {missing[0]} in {corpus_dir}")
            return 2
        corpus.cases = [case for case in corpus.cases if case.id in only]
    for problem in corpus.problems:
        err_console.print(f"[yellow]skipped[/] {problem}", highlight=False, soft_wrap=True)
    unknown = sorted(set(compare) - set(PEERS))
    if unknown:
        err_console.print(f"[red]error:[/] unknown peer {unknown[0]} (known: {', '.join(PEERS)})")
        return 2
    texts = {case.id: case.text for case in corpus.cases}
    with peer_agents(sorted(set(compare)), config) as peers:
        agents: list[BenchAgent] = [OurAgent(config), *peers]
        total = runs * len(corpus.cases) * len(agents)
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[case]}"),
            console=err_console,
        )
        with progress:
            task = progress.add_task("bench", total=total, case="loading models…")
            bench = asyncio.run(
                run_corpus(
                    corpus,
                    agents,
                    runs,
                    lambda label: progress.update(task, advance=1, case=label),
                    primer=primer,
                )
            )
    results = build_results(corpus_dir, bench, runs, config, texts)
    results["skipped"] = [str(p) for p in corpus.problems] + bench.skipped
    print_summary(console, results)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1) + "\n")
        console.print(f"results written to {json_path}")
    if report_path is not None:
        from bench.report import write_report

        report_path.parent.mkdir(parents=True, exist_ok=True)
        written = write_report(results, report_path, png_dir)
        console.print("report written to " + ", ".join(str(p) for p in written))
    failed_cases = failures(results)  # ours and every peer's: errors, not measurements
    for line in failed_cases:
        err_console.print(f"[yellow]failed:[/] {line}", soft_wrap=True, highlight=False)
    if budget_ms is not None:
        messages = [budget_gate(results, budget_ms), false_cutoff_gate(results, max_false_cutoff)]
        if failed_cases:
            messages.append(f"{len(failed_cases)} case(s) failed (listed above)")
        over = [message for message in messages if message is not None]
        for message in over:
            err_console.print(f"[bold red]over budget:[/] {message}", soft_wrap=True)
        if over:
            return EXIT_OVER_BUDGET
    if results["skipped"] or failed_cases:
        return EXIT_SKIPPED
    return 0
