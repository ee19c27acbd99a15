"""`voice bench CORPUS --stage phone`: what the phone paths cost against the agent in process.

On the corpus's turns without holds, interleaved case by case, each clip as a phone call
delivers it (300-3400 Hz, 8 kHz, µ-law: `stt_bench.phone_band`):

- **loopback**: the agent in process, fed the phone-band clip (TTFA: end of speech -> first
  bot frame handed to the transport);
- **stream**: the same clip from a scripted carrier (`bench.media_stream_caller`) over a
  Twilio-style media stream to a `voice serve` started as its own process, one call per clip.
  TTFA heard = when the carrier sent the end-of-speech sample -> the first audible bot audio
  it received, on the carrier's clock alone.

Results: JSON and a Markdown report (the paths given by --json and --report).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from bench.agents import OurAgent
from bench.corpus import Case
from bench.media_stream_caller import StreamCaller
from bench.results import git_revision, machine
from bench.serve_bench import (
    TAIL_S,
    TOKEN,
    TURN_TIMEOUT_S,
    _eos_in_clip,
    _p,
    loopback_turn,
    serve_process,
    turns_without_holds,
)
from bench.stt_bench import phone_band
from bench.webrtc_caller import poll
from voice.audio import SAMPLE_RATE
from voice.config import Config


async def stream_turn(base: str, case: Case, pcm: np.ndarray) -> dict[str, Any]:
    ws = base.replace("http://", "ws://") + "/phone/stream"
    caller = StreamCaller(ws, TOKEN)
    async with caller:
        await asyncio.sleep(0.3)  # the carrier's line is up and silent before the caller talks
        start = caller.say(np.concatenate([pcm, np.zeros(int(TAIL_S * SAMPLE_RATE))]))
        eos_sent = start + round(_eos_in_clip(case) * 1e9)
        await poll(lambda: caller.record.first_audio_after(eos_sent), TURN_TIMEOUT_S)
        await poll(lambda: caller.line.idle, 10)
    heard = caller.record.first_audio_after(eos_sent)
    return {
        "case": case.id,
        "ttfa_heard_ms": None if heard is None else (heard - eos_sent) / 1e6,
        "error": None if heard is not None else "no bot audio within the timeout",
    }


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    loop = [t["ttfa_ms"] for t in results["loopback"]]
    stream = [t["ttfa_heard_ms"] for t in results["stream"]]
    summary: dict[str, Any] = {
        "loopback_ttfa_p50": _p(loop, 0.5),
        "loopback_ttfa_p95": _p(loop, 0.95),
        "stream_heard_ttfa_p50": _p(stream, 0.5),
        "stream_heard_ttfa_p95": _p(stream, 0.95),
        "stream_turns": sum(v is not None for v in stream),
    }
    pairs = [
        (s, lo) for s, lo in zip(stream, loop, strict=True) if s is not None and lo is not None
    ]
    summary["stream_minus_loopback_p50"] = _p([s - lo for s, lo in pairs], 0.5)
    return summary


def markdown(results: dict[str, Any]) -> str:
    s = results["summary"]
    commit = (results["git"].get("commit") or "unknown")[:7]
    return (
        "\n".join(
            [
                "# The phone paths against the agent in process (phone-band clips)",
                "",
                f"Command: `{results['command']}`  ",
                f"Machine: {results['machine'].get('cpu')}, {results['machine'].get('cores')} "
                f"cores; git {commit}; {results['created']}",
                "",
                "| path | turns | TTFA p50 (ms) | TTFA p95 (ms) |",
                "|---|---|---|---|",
                f"| loopback (in process), phone-band clip | {len(results['loopback'])} | "
                f"{s['loopback_ttfa_p50']} | {s['loopback_ttfa_p95']} |",
                f"| media stream, heard by the carrier | {s['stream_turns']} | "
                f"{s['stream_heard_ttfa_p50']} | {s['stream_heard_ttfa_p95']} |",
                "",
                f"Media stream minus loopback on the same case and run, p50: "
                f"{s['stream_minus_loopback_p50']} ms.",
            ]
        )
        + "\n"
    )


async def _run(
    cases: list[tuple[Case, np.ndarray]], config: Config, runs: int, progress: Any
) -> dict[str, Any]:
    agent = OurAgent(config)
    await agent.start()
    results: dict[str, Any] = {"loopback": [], "stream": []}
    with serve_process(1) as base:
        for run in range(runs):
            for index, (case, pcm) in enumerate(cases):
                steps = ["loopback", "stream"]
                shift = (run * len(cases) + index) % len(steps)  # neither always plays first
                for step in steps[shift:] + steps[:shift]:
                    if step == "loopback":
                        results["loopback"].append(await loopback_turn(agent, case, pcm))
                    else:
                        results["stream"].append(await stream_turn(base, case, pcm))
                    progress(f"{step} {case.id} (run {run + 1})")
    return results


def phone_bench_command(
    corpus_dir: Path,
    config: Config,
    runs: int,
    json_path: Path | None,
    report_path: Path | None,
    only: list[str] | None,
    console: Console,
    command: str,
) -> dict[str, Any]:
    cases = [(c, phone_band(c.load_pcm())) for c in turns_without_holds(corpus_dir, only)]
    results = asyncio.run(_run(cases, config, runs, lambda label: console.print(label)))
    results |= {
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "git": git_revision(),
        "machine": machine(),
        "cases": [c.id for c, _ in cases],
        "runs": runs,
    }
    results["summary"] = summarize(results)
    text = markdown(results)
    console.print(text)
    for path, body in ((json_path, json.dumps(results, indent=1) + "\n"), (report_path, text)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
    return results
