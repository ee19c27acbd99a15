"""The `voice` command line: `serve`, `harness`, `talk`, `doctor`, `bench`, `eval`.

Errors a user can cause are printed as one line and exit non-zero; no tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the default stack never reaches a model hub

import typer
from rich.console import Console
from rich.table import Table

from voice.config import STAGES, Config, load_config, sip_address
from voice.errors import VoiceError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _load(config_path: Path | None) -> Config:
    try:
        return load_config(config_path)
    except VoiceError as exc:
        raise _fail(str(exc)) from None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_turn(record: dict[str, Any]) -> None:
    budget = record.get("budget", {})
    verdict = "within budget" if budget.get("within") else "OVER budget"
    if budget.get("overran"):
        verdict += f" ({budget['overran']} overran)"
    console.print(f"[bold]turn {record['turn']}[/] · [cyan]{record['outcome']}[/]")
    console.print(f"  user: {record['transcript']!r}")
    console.print(f"  bot:  {record['reply']!r}")
    table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
    table.add_column("stage")
    table.add_column("start ms", justify="right")
    table.add_column("ms", justify="right")
    spans = record["spans"]
    eos = record["eos_ms"]
    for name in STAGES:
        span = spans.get(name)
        if span is None:
            table.add_row(name, "-", "-")
            continue
        start = None if span["start_ms"] is None else span["start_ms"] - eos
        table.add_row(name, _fmt(start), _fmt(span["ms"]))
    table.add_row("[bold]TTFA[/]", "", f"[bold]{_fmt(record['ttfa_ms'])}[/]")
    console.print(table)
    console.print(f"  ({verdict}; start times are relative to the end of user speech)")


@app.command()
def talk(
    audio: Annotated[Path | None, typer.Argument(help="WAV file to play as the caller")] = None,
    out: Annotated[Path, typer.Option("--out", help="where to write the bot's audio")] = Path(
        "reply.wav"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="print {'turns': [...]} as JSON")] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="ask a built-in spoken question instead of a file")
    ] = False,
    config_path: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
) -> None:
    """Play a recording to the agent in real time and show each turn with its latency spans."""
    from voice.audio import write_wav
    from voice.providers.registry import load_models
    from voice.talk import demo_question, load_caller_audio
    from voice.talk import talk as run_talk

    config = _load(config_path)
    if audio is None and not demo:
        raise _fail("give a WAV file to play, or --demo for a built-in question", 2)
    if audio is not None and demo:
        raise _fail("give either a WAV file or --demo, not both", 2)
    try:
        pcm = load_caller_audio(audio) if audio is not None else None
        with err_console.status("loading models…"):
            models = load_models(config)
        if pcm is None:
            pcm = demo_question(models)
        with err_console.status(f"talking ({len(pcm) / 16000:.1f} s of caller audio)…"):
            result = run_talk(pcm, config, models, on_turn=None if as_json else print_turn)
    except VoiceError as exc:
        raise _fail(str(exc)) from None
    try:
        write_wav(out, result.bot_audio)
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror}") from None
    if as_json:
        print(json.dumps({"turns": result.turns, "discarded_speculations": result.discarded}))
    else:
        console.print(f"bot audio written to {out} ({len(result.bot_audio) / 16000:.1f} s)")
    if not result.turns:
        raise _fail("no user turn was detected in the audio (is there speech in it?)")


@app.command()
def serve(
    config_path: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
    host: Annotated[str | None, typer.Option(help="address to listen on \\[serve.host]")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on \\[serve.port]")] = None,
    max_sessions: Annotated[
        int | None, typer.Option(help="calls at once; more get 503 \\[serve.max_sessions]")
    ] = None,
    harness: Annotated[
        bool,
        typer.Option(
            "--harness",
            help="run the durable harness in this process and delegate long tasks to it "
            "\\[serve.harness]",
        ),
    ] = False,
    sip: Annotated[
        str | None,
        typer.Option(help="also answer phone calls: SIP over UDP on host:port \\[serve.sip]"),
    ] = None,
) -> None:
    """Serve the talk page: open the printed URL in Chrome or Firefox and speak.

    With --sip, the same process answers SIP phone calls (docs/phone.md)."""
    import uvicorn

    from voice.providers.registry import load_models
    from voice.server.app import create_app, server_of

    config = _load(config_path)
    if host is not None:
        config.serve.host = host
    if port is not None:
        config.serve.port = port
    if max_sessions is not None:
        if max_sessions < 1:
            raise _fail("--max-sessions must be at least 1")
        config.serve.max_sessions = max_sessions
    if harness:
        config.serve.harness = True
    if sip is not None:
        try:
            sip_address(sip)
        except ValueError as exc:
            raise _fail(f"--sip: {exc}") from None
        config.serve.sip = sip
    try:
        with console.status("loading models..."):
            fastapi_app = create_app(config, load_models(config))
    except VoiceError as exc:
        raise _fail(str(exc)) from None
    token = server_of(fastapi_app).token
    serving = config.serve
    shown = "localhost" if serving.host in ("127.0.0.1", "0.0.0.0", "::") else serving.host
    console.print(
        f"[bold]voice serve[/]: open [link]http://{shown}:{config.serve.port}/?token={token}[/]"
        f"  (up to {config.serve.max_sessions} calls; Ctrl+C ends them and stops)",
        soft_wrap=True,
    )
    if serving.harness:
        console.print(
            "long tasks go to the durable harness in this process "
            f"(A2A on {config.harness.host}:{config.harness.port}, docs/harness.md)"
        )
    if serving.sip:
        console.print(f"[bold]voice serve[/]: phone calls to sip:agent@{serving.sip} (UDP)")
    try:
        uvicorn.run(fastapi_app, host=serving.host, port=serving.port, log_level="warning")
    except OSError as exc:
        raise _fail(f"cannot listen on {config.serve.host}:{config.serve.port}: {exc}") from None


@app.command()
def harness(
    config_path: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
    host: Annotated[str | None, typer.Option(help="address to listen on \\[harness.host]")] = None,
    port: Annotated[
        int | None, typer.Option(help="port to listen on, 0: a free one \\[harness.port]")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="bearer token clients must send; default: a random one \\[harness.token]"
        ),
    ] = None,
    temporal: Annotated[
        str | None,
        typer.Option(
            "--temporal",
            metavar="ADDRESS",
            help="Temporal cluster host:port; default: start the embedded dev server "
            "\\[harness.temporal]",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="task store, ledgers, dev-server state \\[harness.data_dir]"),
    ] = None,
) -> None:
    """Serve the durable harness: an A2A server whose tasks run as Temporal workflows."""
    from voice.harness.cli import serve_harness

    config = _load(config_path)
    settings = config.harness
    for name, value in (("host", host), ("port", port), ("token", token), ("temporal", temporal)):
        if value is not None:
            setattr(settings, name, value)
    if data_dir is not None:
        settings.data_dir = str(data_dir)
    if not 0 <= settings.port < 65536:
        raise _fail(f"--port must be 0-65535, got {settings.port}", 2)
    try:
        serve_harness(settings, console)
    except VoiceError as exc:
        raise _fail(str(exc)) from None


@app.command("eval")
def eval_replies(
    candidate: Annotated[
        list[str] | None,
        typer.Option(
            "--candidate",
            help="a profile (fast, quality) or MODEL:PROMPT (gemma:v3, smollm2:chat:v3, "
            "a GGUF path:chat:v2); repeatable; default: both profiles",
        ),
    ] = None,
    requests: Annotated[
        Path | None, typer.Option("--requests", help="a request set (bench/replies/requests.jsonl)")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write results JSON")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write an HTML report")] = None,
    config_path: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
) -> None:
    """Score the replies on the reply-quality set, beside llm.ttft and llm.clause."""
    from bench.reply_run import eval_command

    config = _load(config_path)
    try:
        eval_command(
            candidate or ["fast", "quality"],
            config,
            requests,
            json_path,
            report,
            console,
            command="voice eval " + " ".join(sys.argv[2:]),
        )
    except VoiceError as exc:
        raise _fail(str(exc), 2) from None


@app.command()
def doctor(
    config_path: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
) -> None:
    """Load every configured model and say where it comes from, its version and its threads."""
    from voice.doctor import check_models

    config = _load(config_path)
    rows, ok = check_models(config)
    table = Table(title="voice doctor", header_style="bold")
    for column in ("stage", "provider", "status", "source", "version", "threads", "load s"):
        table.add_column(column)
    for row in rows:
        status = "[green]ok[/]" if row.ok else f"[red]{row.message}[/]"
        table.add_row(
            row.stage, row.provider, status, row.source, row.version, str(row.threads), row.load_s
        )
    console.print(table)
    console.print(
        f"python {sys.version.split()[0]} · HF_HUB_OFFLINE={os.environ['HF_HUB_OFFLINE']}"
    )
    if not ok:
        raise _fail("some models failed to load; see the table above for the fix")


@app.command()
def bench(
    corpus_dir: Annotated[Path, typer.Argument(help="corpus folder with manifest.jsonl")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="replays of each case")] = 1,
    json_path: Annotated[Path | None, typer.Option("--json", help="write results JSON")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write an HTML report")] = None,
    png_dir: Annotated[
        Path | None, typer.Option("--png-dir", help="also export the report's figures as PNG")
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="run a peer side by side: pipecat, livekit, pipecat_vad, livekit_vad (repeatable)",
        ),
    ] = None,
    config_path: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            help="exit 1 if TTFA p50 exceeds this many ms, false cut-offs exceed "
            "--max-false-cutoff, or any agent's case failed",
        ),
    ] = None,
    max_false_cutoff: Annotated[
        float,
        typer.Option(
            "--max-false-cutoff", min=0.0, max=1.0, help="with --budget: highest false cut-off rate"
        ),
    ] = 0.05,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="run only this case id (repeatable)")
    ] = None,
    stage: Annotated[
        str,
        typer.Option(
            "--stage",
            help="agent: the whole agent in real time; stt: STT options only; webrtc: the "
            "agent behind `voice serve`, over WebRTC, beside the loopback; phone: the same "
            "over the phone paths, on phone-band clips",
        ),
    ] = "agent",
    callers: Annotated[
        int, typer.Option("--callers", min=1, help="--stage webrtc: calls at once at the end")
    ] = 1,
    stagger: Annotated[
        float, typer.Option("--stagger", min=0.0, help="--stage webrtc: seconds between calls")
    ] = 1.3,
    page: Annotated[
        bool, typer.Option("--page", help="--stage webrtc: also play each clip to the page")
    ] = False,
    stt_option: Annotated[
        list[str] | None,
        typer.Option("--stt-option", help="--stage stt: an option spec, e.g. 'ours:beam=2'"),
    ] = None,
    variant: Annotated[
        str, typer.Option("--variant", help="--stage stt: orig, or phone (G.711 phone band)")
    ] = "orig",
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            help="endpoint: the end-of-turn trade-off curve (false cut-offs against delay) "
            "for VAD only, Smart Turn only, words only and the fused decision; bargein: the "
            "barge-in policy and its variants replayed over the overlay clips (real VAD and STT)",
        ),
    ] = None,
    delegation: Annotated[
        bool,
        typer.Option(
            "--delegation",
            help="precision, recall and cost of the decision to delegate, on a request set "
            "folder (voice/delegate/requests); --json / --report write JSON / Markdown",
        ),
    ] = False,
) -> None:
    """Replay a corpus in real time, measure every turn, compare with peers, gate on a budget.

    With --stage stt, transcribe every turn with each STT option and print WER against STT
    latency (docs/stt.md). Exit codes: 0 ok; 1 TTFA p50 over --budget; 2 bad arguments;
    3 some cases were skipped.
    """
    if delegation:
        from bench.delegation import delegation_command

        try:
            delegation_command(
                corpus_dir, json_path, report, console, "voice bench " + " ".join(sys.argv[2:])
            )
        except VoiceError as exc:
            raise _fail(str(exc), 2) from None
        return
    if stage not in ("agent", "stt", "webrtc", "phone"):
        raise _fail(f"unknown --stage '{stage}' (agent, stt, webrtc, phone)", 2)
    if stage in ("webrtc", "phone") and config_path is not None:
        os.environ["VOICE_CONFIG"] = str(config_path.resolve())  # for its `voice serve` process
    if stage == "phone":
        from bench.phone_bench import phone_bench_command

        try:
            phone_bench_command(
                corpus_dir,
                _load(config_path),
                runs,
                json_path,
                report,
                case,
                console,
                command="voice bench " + " ".join(sys.argv[2:]),
            )
        except VoiceError as exc:
            raise _fail(str(exc), 2) from None
        return
    if stage == "webrtc":
        from bench.serve_bench import serve_bench_command

        try:
            serve_bench_command(
                corpus_dir,
                _load(config_path),
                runs,
                callers,
                stagger,
                page,
                json_path,
                report,
                case,
                console,
                command="voice bench " + " ".join(sys.argv[2:]),
            )
        except VoiceError as exc:
            raise _fail(str(exc), 2) from None
        return
    if stage == "stt":
        from bench.stt_bench import split_specs, stt_bench_command

        try:
            stt_bench_command(
                corpus_dir,
                split_specs(stt_option),
                runs,
                json_path,
                report,
                variant,
                case,
                console,
                err_console,
                command="voice bench " + " ".join(sys.argv[2:]),
            )
        except (VoiceError, ValueError) as exc:
            raise _fail(str(exc), 2) from None
        return
    config = _load(config_path)
    if sweep == "bargein":
        from bench.bargein_replay import sweep_bargein_command

        try:
            sweep_bargein_command(corpus_dir, config, json_path, console)
        except VoiceError as exc:
            raise _fail(str(exc), 2) from None
        return
    if sweep is not None:
        if sweep != "endpoint":
            raise _fail(f"unknown --sweep '{sweep}' (endpoint, bargein)", 2)
        from bench.sweep_run import sweep_command

        try:
            sweep_command(
                corpus_dir, config, json_path, report, list(compare or []), console, err_console
            )
        except VoiceError as exc:
            raise _fail(str(exc), 2) from None
        return
    from bench.cli import bench_command

    try:
        code = bench_command(
            corpus_dir,
            runs,
            json_path,
            report,
            png_dir,
            list(compare or []),
            config,
            budget,
            console,
            err_console,
            only=case,
            max_false_cutoff=max_false_cutoff,
        )
    except VoiceError as exc:
        raise _fail(str(exc), 2) from None
    if code:
        raise typer.Exit(code)


@app.command()
def report(
    results_json: Annotated[Path, typer.Argument(help="a results JSON written by voice bench")],
    html: Annotated[Path, typer.Option("--report", help="where to write the HTML report")],
    png_dir: Annotated[
        Path | None, typer.Option("--png-dir", help="also export the figures as PNG")
    ] = None,
) -> None:
    """Redraw the table and report of an earlier `voice bench --json` run."""
    from bench.cli import print_summary
    from bench.report import write_report
    from bench.results import peer_ratios

    try:
        results = json.loads(results_json.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _fail(f"{results_json}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(f"{results_json}: not a results JSON ({exc})") from None
    if not isinstance(results, dict) or "ttfa_ms" not in results:
        raise _fail(f"{results_json}: not a results JSON written by voice bench")
    results["ratios"] = peer_ratios(results)
    print_summary(console, results)
    written = write_report(results, html, png_dir)
    console.print("report written to " + ", ".join(str(p) for p in written))


corpus_app = typer.Typer(help="Benchmark corpora.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("synth")
def corpus_synth(
    out_dir: Annotated[Path, typer.Argument(help="folder to write the corpus into")],
    n: Annotated[int, typer.Option("--n", min=1, help="number of user turns")] = 40,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same corpus)")] = 0,
) -> None:
    """Generate a corpus with computed ground truth: many voices, holds, noise, barge-ins."""
    from rich.progress import Progress

    from bench.synth import synth_corpus

    try:
        with Progress(console=err_console) as progress:
            task = progress.add_task("synthesizing", total=None)

            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            manifest = synth_corpus(out_dir, n=n, seed=seed, progress=update)
    except (VoiceError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    console.print(f"corpus written: {manifest}")


def main() -> None:  # pragma: no cover - entry point shim
    app()
