"""`voice bench CORPUS --stage webrtc`: what the WebRTC path costs, and how calls share a machine.

Three measurements in one run, on the corpus's turns without holds, interleaved case by case:

- **loopback**: the agent in process, as `voice bench` plays it (TTFA: end of speech -> first
  bot frame handed to the transport);
- **webrtc**: the same clips from a scripted aiortc caller (`bench.webrtc_caller`) to a
  `voice serve` started as its own process, one call per clip. TTFA heard = when the caller
  sent the end-of-speech sample -> the first audible bot frame it received, on the caller's
  clock alone; the server's own TTFA for the turn comes over the data channel beside it;
- **page** (`--page`): the talk page in Debian's Chromium, the clip as its fake microphone,
  one page load per clip; TTFA as the page measures it (the server's end-of-speech mark ->
  its WebAudio analyser hears the bot);
- **concurrent** (`--callers N`, N > 1): N callers at once, staggered, each playing every clip
  in turn in one call; TTFA p50 per call, against the single-call figures of this run.

Results: JSON and a Markdown report (the paths given by --json and --report).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soxr
from rich.console import Console

from bench.agents import OurAgent
from bench.corpus import Case, load_corpus
from bench.peers.llm_server import free_port
from bench.results import git_revision, machine
from bench.runner import run_case
from bench.webrtc_caller import AUDIBLE_PEAK, Caller, poll
from voice.audio import SAMPLE_RATE, write_wav
from voice.config import Config
from voice.errors import VoiceError

TOKEN = "bench-token"
TAIL_S = 0.6  # silence after each clip in a call (the turn's end needs a pause to be heard)
TURN_TIMEOUT_S = 30.0
CHROMIUM = os.environ.get("VOICE_CHROMIUM", "/usr/bin/chromium")


@contextlib.contextmanager
def serve_process(callers: int) -> Iterator[str]:
    """`voice serve` in its own process on 127.0.0.1 (ICE on loopback only); yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "VOICE_SERVE__ICE_HOSTS": "127.0.0.1",
        "VOICE_SERVE__TOKEN": TOKEN,
        "VOICE_SERVE__OFFERS_PER_MINUTE": "1000",
    }
    command = [
        sys.executable, "-m", "voice", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--max-sessions", str(callers),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise VoiceError(f"voice serve exited with code {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise VoiceError("voice serve did not answer /healthz within 180 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def turns_without_holds(corpus_dir: Path, only: list[str] | None) -> list[Case]:
    """The corpus's turns that a call plays whole: an end of speech and no pause inside."""
    chosen = [
        c
        for c in load_corpus(corpus_dir).of_kind("turn")
        if c.eos_s is not None and not c.holds_s and (not only or c.id in only)
    ]
    if not chosen:
        raise VoiceError(f"no turn without holds in {corpus_dir} (or none matches --case)")
    return chosen


def _eos_in_clip(case: Case) -> float:
    assert case.eos_s is not None
    return case.rel(case.eos_s)


async def loopback_turn(agent: OurAgent, case: Case, pcm: np.ndarray) -> dict[str, Any]:
    recording = await run_case(agent, case, pcm, None)
    eos = recording.origin_ns + round(_eos_in_clip(case) * 1e9)
    first = next((t for t in recording.output_ns if t >= eos), None)
    return {
        "case": case.id,
        "ttfa_ms": None if first is None else (first - eos) / 1e6,
        "error": recording.error,
    }


async def webrtc_turn(base: str, case: Case, pcm: np.ndarray) -> dict[str, Any]:
    caller = Caller(base, TOKEN, np.concatenate([pcm, np.zeros(int(TAIL_S * SAMPLE_RATE))]))
    async with caller:
        await caller.play(then_s=TURN_TIMEOUT_S, until=lambda: caller.record.turns())
        eos_sent = caller.mic.sent_ns(_eos_in_clip(case))
    turns = caller.record.turns()
    heard = caller.record.first_audio_after(eos_sent) if eos_sent is not None else None
    server = turns[0]["ttfa_ms"] if turns else None
    heard_ms = None if heard is None or eos_sent is None else (heard - eos_sent) / 1e6
    return {
        "case": case.id,
        "ttfa_heard_ms": heard_ms,
        "ttfa_server_ms": server,
        "path_ms": None if heard_ms is None or server is None else heard_ms - server,
        "error": None if turns else "no turn record within the timeout",
    }


async def concurrent_calls(
    base: str, cases: list[tuple[Case, np.ndarray]], callers: int, stagger_s: float
) -> list[dict[str, Any]]:
    """`callers` calls at once, started `stagger_s` apart; each says every clip in turn,
    waiting for the answer (and a second more) before the next, as a caller would."""

    async def one_call(index: int) -> dict[str, Any]:
        await asyncio.sleep(index * stagger_s)
        rotated = cases[index % len(cases) :] + cases[: index % len(cases)]
        caller = Caller(base, TOKEN, np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.int16))
        ttfas: list[float | None] = []
        async with caller:
            for case, pcm in rotated:
                answered = len(caller.record.turns())
                start = caller.mic.say(pcm)
                eos_sent = start + round(_eos_in_clip(case) * 1e9)
                await poll(lambda n=answered: len(caller.record.turns()) > n, TURN_TIMEOUT_S)  # type: ignore[misc]
                heard = caller.record.first_audio_after(eos_sent)
                ttfas.append(None if heard is None else (heard - eos_sent) / 1e6)
                await asyncio.sleep(1.0)
            spans = [turn.get("spans", {}) for turn in caller.record.turns()]
        return {
            "call": index,
            "cases": [c.id for c, _ in rotated],
            "ttfa_heard_ms": ttfas,
            "server_spans": spans,  # each turn's stage spans, ms from its end of speech
        }

    return list(await asyncio.gather(*(one_call(i) for i in range(callers))))


def chromium_args(wav: Path) -> list[str]:
    """Debian's Chromium, headless, with `wav` as its microphone and loopback ICE allowed (the
    server offers 127.0.0.1 only); this machine's closed network refuses the rest."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ]  # fmt: skip


def fake_mic_wav(pcm: np.ndarray, path: Path, lead_s: float = 1.5, tail_s: float = 20.0) -> Path:
    """`pcm` (16 kHz) as Chromium's fake microphone: silence first (the page connects
    meanwhile), then silence after it so that the file never ends during the turn."""
    lead = np.zeros(int(lead_s * SAMPLE_RATE), dtype=np.int16)
    tail = np.zeros(int(tail_s * SAMPLE_RATE), dtype=np.int16)
    mic = np.concatenate([lead, np.asarray(pcm, dtype=np.int16), tail])
    write_wav(path, soxr.resample(mic, SAMPLE_RATE, 48_000).astype(np.int16), 48_000)
    return path


@contextlib.asynccontextmanager
async def chromium_page(base: str, wav: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=chromium_args(wav)
        )
        try:
            page = await browser.new_page()
            # VOICE_BENCH_PAGE_AUDIO=raw: the page without the browser's audio processing
            audio = os.environ.get("VOICE_BENCH_PAGE_AUDIO", "")
            await page.goto(f"{base}/?token={TOKEN}" + (f"&audio={audio}" if audio else ""))
            yield page
        finally:
            await browser.close()


async def page_turn(base: str, case: Case, pcm: np.ndarray, folder: Path) -> dict[str, Any]:
    """One page load: the clip as the page's microphone."""
    wav = fake_mic_wav(pcm, folder / f"{case.id}.wav")
    async with chromium_page(base, wav) as page:
        await page.click("#talk")
        await page.wait_for_selector("body[data-turns='1']", timeout=TURN_TIMEOUT_S * 1000)
        with contextlib.suppress(Exception):
            await page.wait_for_selector(".turn[data-page-ttfa-ms]", timeout=5_000)
        stats: dict[str, Any] = await page.evaluate("window.voiceStats")
        await page.click("#talk")
    turn = stats["turns"][0] if stats["turns"] else {}
    heard, server = turn.get("pageTtfaMs"), turn.get("serverTtfaMs")
    return {
        "case": case.id,
        "ttfa_page_ms": heard,
        "ttfa_server_ms": server,
        "path_ms": None if heard is None or server is None else heard - server,
    }


def _p(values: list[float | None], q: float) -> float | None:
    kept = sorted(v for v in values if v is not None)
    if not kept:
        return None
    if len(kept) == 1:
        return round(kept[0], 1)
    return round(statistics.quantiles(kept, n=100, method="inclusive")[round(q * 100) - 1], 1)


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    loop = [t["ttfa_ms"] for t in results["loopback"]]
    rtc = [t["ttfa_heard_ms"] for t in results["webrtc"]]
    summary: dict[str, Any] = {
        "loopback_ttfa_p50": _p(loop, 0.5),
        "loopback_ttfa_p95": _p(loop, 0.95),
        "webrtc_heard_ttfa_p50": _p(rtc, 0.5),
        "webrtc_heard_ttfa_p95": _p(rtc, 0.95),
        "webrtc_server_ttfa_p50": _p([t["ttfa_server_ms"] for t in results["webrtc"]], 0.5),
        "webrtc_path_p50": _p([t["path_ms"] for t in results["webrtc"]], 0.5),
    }
    if results.get("page"):
        page = [t["ttfa_page_ms"] for t in results["page"]]
        summary |= {
            "page_ttfa_p50": _p(page, 0.5),
            "page_ttfa_p95": _p(page, 0.95),
            "page_path_p50": _p([t["path_ms"] for t in results["page"]], 0.5),
            "page_turns": sum(v is not None for v in page),
        }
        if summary["page_ttfa_p50"] is not None and summary["loopback_ttfa_p50"] is not None:
            summary["page_minus_loopback_p50"] = round(
                summary["page_ttfa_p50"] - summary["loopback_ttfa_p50"], 1
            )
    if results.get("concurrent"):
        single = summary["webrtc_heard_ttfa_p50"]
        per_call = [_p(c["ttfa_heard_ms"], 0.5) for c in results["concurrent"]]
        summary["concurrent_ttfa_p50_per_call"] = per_call
        summary["concurrent_worst_p50"] = max((p for p in per_call if p is not None), default=None)
        if single and summary["concurrent_worst_p50"] is not None:
            summary["concurrent_worst_vs_single"] = round(
                summary["concurrent_worst_p50"] / single, 2
            )
    return summary


def markdown(results: dict[str, Any]) -> str:
    s = results["summary"]
    lines = [
        "# voice serve over WebRTC",
        "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine'].get('cpu')}, {results['machine'].get('cores')} cores; "
        f"git {(results['git'].get('commit') or 'unknown')[:7]}; {results['created']}",
        "",
        "| path | turns | TTFA p50 (ms) | TTFA p95 (ms) |",
        "|---|---|---|---|",
        f"| loopback (in process) | {len(results['loopback'])} | {s['loopback_ttfa_p50']} | "
        f"{s['loopback_ttfa_p95']} |",
        f"| WebRTC, heard by an aiortc caller | {len(results['webrtc'])} | "
        f"{s['webrtc_heard_ttfa_p50']} | {s['webrtc_heard_ttfa_p95']} |",
    ]
    if "page_ttfa_p50" in s:
        lines.append(
            f"| WebRTC, heard by the page in Chromium | {s['page_turns']} | "
            f"{s['page_ttfa_p50']} | {s['page_ttfa_p95']} |"
        )
    lines += [
        "",
        f"Server-side TTFA of the WebRTC calls, p50: {s['webrtc_server_ttfa_p50']} ms; the path "
        f"after the server hands a frame over (aiortc caller), p50: {s['webrtc_path_p50']} ms.",
    ]
    if "page_ttfa_p50" in s:
        lines.append(
            f"Page: p50 {s['page_ttfa_p50']} ms against loopback {s['loopback_ttfa_p50']} ms "
            f"(difference {s.get('page_minus_loopback_p50')} ms); after the server's hand-over, "
            f"p50 {s['page_path_p50']} ms."
        )
    if results.get("concurrent"):
        lines += [
            "",
            f"## {len(results['concurrent'])} calls at once "
            f"(started {results['stagger_s']} s apart)",
            "",
            "| call | turns | TTFA p50 (ms) | each turn (ms) |",
            "|---|---|---|---|",
        ]
        for call, p50 in zip(results["concurrent"], s["concurrent_ttfa_p50_per_call"], strict=True):
            each = ", ".join("-" if v is None else f"{v:.0f}" for v in call["ttfa_heard_ms"])
            lines.append(f"| {call['call']} | {len(call['ttfa_heard_ms'])} | {p50} | {each} |")
        lines.append(
            f"\nWorst call's p50 against the single-call p50 of this run: "
            f"×{s.get('concurrent_worst_vs_single')}."
        )
    return "\n".join(lines) + "\n"


async def _run(
    cases: list[tuple[Case, np.ndarray]],
    config: Config,
    runs: int,
    callers: int,
    stagger_s: float,
    page: bool,
    progress: Any,
) -> dict[str, Any]:
    agent = OurAgent(config)
    await agent.start()
    results: dict[str, Any] = {"loopback": [], "webrtc": [], "page": [], "concurrent": []}
    with serve_process(max(callers, 1)) as base, tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            for index, (case, pcm) in enumerate(cases):
                # the order of the paths rotates, so neither always plays first
                steps = ["loopback", "webrtc", *(["page"] if page else [])]
                shift = (run * len(cases) + index) % len(steps)
                for step in steps[shift:] + steps[:shift]:
                    if step == "loopback":
                        results["loopback"].append(await loopback_turn(agent, case, pcm))
                    elif step == "webrtc":
                        results["webrtc"].append(await webrtc_turn(base, case, pcm))
                    else:
                        results["page"].append(await page_turn(base, case, pcm, Path(tmp)))
                    progress(f"{step} {case.id} (run {run + 1})")
        if callers > 1:
            results["concurrent"] = await concurrent_calls(base, cases, callers, stagger_s)
            progress(f"{callers} calls at once")
    return results


def serve_bench_command(
    corpus_dir: Path,
    config: Config,
    runs: int,
    callers: int,
    stagger_s: float,
    page: bool,
    json_path: Path | None,
    report_path: Path | None,
    only: list[str] | None,
    console: Console,
    command: str,
) -> dict[str, Any]:
    cases = [(c, c.load_pcm()) for c in turns_without_holds(corpus_dir, only)]
    results = asyncio.run(
        _run(cases, config, runs, callers, stagger_s, page, lambda label: console.print(label))
    )
    results |= {
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "git": git_revision(),
        "machine": machine(),
        "cases": [c.id for c, _ in cases],
        "runs": runs,
        "stagger_s": stagger_s,
        "audible_peak": AUDIBLE_PEAK,
    }
    results["summary"] = summarize(results)
    text = markdown(results)
    console.print(text)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1) + "\n")
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(text)
    return results
