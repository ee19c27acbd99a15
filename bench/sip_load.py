"""`python -m bench.sip_load`: what a phone call over SIP/RTP costs, and how calls share a machine.

On the corpus's turns without holds, each made into an 8 kHz G.711 clip (the phone's audio):

- **loopback**: the agent in process on the same 8 kHz clip (decoded back to 16 kHz as the SIP
  transport does), TTFA = the clip's end of speech -> the first bot frame handed over, as
  `voice bench` measures it;
- **sip**: SIPp calls a SIP endpoint running in this process and streams the clip
  (`rtp_stream`); the agent's RTP comes back to an ear socket per call. TTFA = the end of speech
  on the wire (the call's first RTP packet's arrival + the clip's end-of-speech time: SIPp
  sends 20 ms packets at real-time pace) -> the first reply packet at the caller's ear. The
  agent's own TTFA for the turn (its trace) is kept beside it;
- with `--calls 1,2,4,8`, every clip is played by N concurrent SIPp calls at once: each call
  must be answered, hear audio and end with a clean BYE; TTFA p50/p95 per N.

Run it small on a shared machine (`--calls 1,2`); the full sweep is `--calls 1,2,4,8,16,20`.
Results: JSON and a Markdown report (`--json`, `--report`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import Case, load_corpus
from bench.results import git_revision, machine
from bench.sipp import Ear, Scenario, free_udp_port, run_sipp
from telephony.g711 import PhoneDecoder, encode
from voice.agent.session import VoiceSession
from voice.audio import resample
from voice.config import Config, load_config
from voice.providers.registry import Models, load_models
from voice.server.llm_slots import LLMSlots
from voice.server.metrics import ServerMetrics
from voice.server.sip_calls import SipCalls
from voice.transports.loopback import LoopbackTransport

ANSWER_WINDOW_S = 8.0  # the call stays up this long after the clip, for the answer


def phone_clip(case: Case) -> bytes:
    """The case as the phone carries it: 8 kHz G.711 µ-law.

    A call streams it followed by silence for its whole answer window: a phone keeps sending
    RTP while its user listens, and the agent hangs up on a caller whose RTP stops for
    `serve.sip_rtp_timeout_s` (10 s), which cut every call of a 30 s window short.
    """
    return encode(resample(case.load_pcm(), 16_000, 8_000))


def eos_in_clip(case: Case) -> float:
    assert case.eos_s is not None
    return case.rel(case.eos_s)


async def loopback_ttfa(case: Case, ulaw: bytes, models: Models, config: Config) -> float | None:
    pcm = PhoneDecoder("ulaw").push(ulaw)  # what the SIP transport hands the pipeline
    transport = LoopbackTransport(pcm)
    await asyncio.wait_for(VoiceSession(transport, models, config).run(), 60)
    eos = transport.media_time_ns(eos_in_clip(case))
    first = next((t for t, _ in transport.output if t >= eos), None)
    return None if first is None else (first - eos) / 1e6


async def sip_round(
    endpoint: SipCalls,
    case: Case,
    clip: tuple[Path, float],
    calls: int,
    workdir: Path,
    answer_window_s: float = ANSWER_WINDOW_S,
) -> list[dict[str, Any]]:
    """`calls` SIPp calls at once, each playing the clip (its file, its seconds) and staying
    up `answer_window_s` after it; one record per call."""
    clip_file, clip_s = clip
    with_silence = clip_file.with_suffix(
        ".window.ulaw"
    )  # a phone's RTP never stops (see phone_clip)
    with_silence.write_bytes(
        clip_file.read_bytes() + encode(np.zeros(round(answer_window_s * 8_000), np.int16))
    )
    ears: list[Ear] = [await Ear().open() for _ in range(calls)]
    talk_ms = round((clip_s + answer_window_s) * 1000)
    before = {c.id for c in endpoint.ended}
    try:
        code, log = await run_sipp(
            Scenario(audio=with_silence, talk_ms=talk_ms),
            (endpoint.host, endpoint.port),
            [each.port for each in ears],
            workdir,
            concurrent=calls,
            timeout_s=talk_ms / 1000 + 30,
        )
    finally:
        for each in ears:
            each.close()
    for _ in range(200):
        if not endpoint.active:
            break
        await asyncio.sleep(0.05)
    by_port = {each.port: each for each in ears}
    records = []
    for call in endpoint.ended:
        if call.id in before or call.rtp is None:
            continue
        ear = by_port.get(call.rtp.remote[1])
        first_in = call.rtp.stats.first_in_ns
        eos = None if first_in is None else first_in + round(eos_in_clip(case) * 1e9)
        heard = (
            None
            if ear is None or eos is None
            else next((t for t, _ in ear.packets if t >= eos), None)
        )
        traced = [t for t in call.turns if t.ttfa_ns is not None]
        # the wire's own cost: the session handed its first frame over -> it reached the ear
        handed = traced[0].first_audio_ns if traced else None
        at_ear = (
            None
            if ear is None or handed is None
            else next((t for t, _ in ear.packets if t >= handed), None)
        )
        records.append(
            {
                "case": case.id,
                "calls": calls,
                "sipp_ok": code == 0,
                "answered": call.session is not None,
                "heard_packets": 0 if ear is None else len(ear.packets),
                "clean_bye": call.ended_by == "caller",
                "ttfa_ms": None if heard is None or eos is None else (heard - eos) / 1e6,
                "ttfa_server_ms": (traced[0].ttfa_ns or 0) / 1e6 if traced else None,
                "handoff_ms": None if at_ear is None or handed is None else (at_ear - handed) / 1e6,
                "sipp_log": "" if code == 0 else log[-800:],
            }
        )
    missing = calls - len(records)
    records += [{"case": case.id, "calls": calls, "sipp_ok": False, "answered": False}] * missing
    return records


def _p(values: list[float | None], q: float) -> float | None:
    got = sorted(v for v in values if v is not None)
    if not got:
        return None
    return got[min(len(got) - 1, round(q * (len(got) - 1)))]


def summarize(loopback: list[dict[str, Any]], sip: list[dict[str, Any]]) -> dict[str, Any]:
    levels: dict[int, dict[str, Any]] = {}
    for n in sorted({r["calls"] for r in sip}):
        rows = [r for r in sip if r["calls"] == n]
        ttfa = [r.get("ttfa_ms") for r in rows]
        levels[n] = {
            "calls": len(rows),
            "answered": sum(bool(r.get("answered")) for r in rows),
            "heard": sum(r.get("heard_packets", 0) > 0 for r in rows),
            "clean_bye": sum(bool(r.get("clean_bye")) for r in rows),
            "ttfa_p50_ms": _p(ttfa, 0.5),
            "ttfa_p95_ms": _p(ttfa, 0.95),
            "server_ttfa_p50_ms": _p([r.get("ttfa_server_ms") for r in rows], 0.5),
            "handoff_p50_ms": _p([r.get("handoff_ms") for r in rows], 0.5),
            "handoff_max_ms": _p([r.get("handoff_ms") for r in rows], 1.0),
        }
    loop = [r["ttfa_ms"] for r in loopback]
    single = [r for r in sip if r["calls"] == 1]
    pairs = [
        (s["ttfa_ms"], lb["ttfa_ms"])
        for s in single
        for lb in loopback
        if lb["case"] == s["case"] and s.get("ttfa_ms") is not None and lb["ttfa_ms"] is not None
    ]
    return {
        "loopback_ttfa_p50_ms": _p(loop, 0.5),
        "sip_minus_loopback_ms_mean": statistics.mean(a - b for a, b in pairs) if pairs else None,
        "levels": levels,
    }


def report(results: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    summary = results["summary"]
    lines = [
        "# TTFA over SIP/RTP (SIPp callers, 8 kHz G.711)",
        "",
        f"Command: `{results['command']}`  ",
        f"Cases: {', '.join(results['cases'])}; runs: {results['runs']}; "
        f"machine: {results['machine'].get('cpu', '?')}, {results['machine'].get('cores', '?')} "
        f"cores; load average at the start: {results.get('load_average', 'not recorded')}.",
        "",
        "TTFA = end of speech in the clip -> first bot audio: handed to the loopback transport "
        "(in process), or the first RTP packet at the caller's ear (SIP).",
        "",
        "| | TTFA p50 ms | TTFA p95 ms |",
        "|---|---|---|",
        f"| loopback, same 8 kHz clips | {ms(summary['loopback_ttfa_p50_ms'])} | "
        f"{ms(_p([r['ttfa_ms'] for r in results['loopback']], 0.95))} |",
        "",
        "SIP minus loopback, mean over the single-call cases: "
        f"**{ms(summary['sip_minus_loopback_ms_mean'])} ms** (target: within 60 ms). On a "
        "loaded machine this difference is mostly the load's noise; the last column is what "
        "the SIP path itself adds after the agent's first frame (encode, pace, send, receive). "
        "TTFA p50/p95 are over the calls that heard audio within the call's answer window "
        f"({results.get('answer_window_s', ANSWER_WINDOW_S):g} s after the clip).",
        "",
        "| concurrent calls | calls | answered | heard audio | clean BYE | TTFA p50 ms | "
        "TTFA p95 ms | agent's own TTFA p50 ms | frame handed -> at the ear p50 / max ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, level in summary["levels"].items():
        lines.append(
            f"| {n} | {level['calls']} | {level['answered']} | {level['heard']} | "
            f"{level['clean_bye']} | {ms(level['ttfa_p50_ms'])} | {ms(level['ttfa_p95_ms'])} | "
            f"{ms(level['server_ttfa_p50_ms'])} | {ms(level['handoff_p50_ms'])} / "
            f"{ms(level['handoff_max_ms'])} |"
        )
    return "\n".join(lines) + "\n"


async def main_async(args: argparse.Namespace, command: str) -> dict[str, Any]:
    load_at_start = os.getloadavg()[0]
    config = load_config(environ={})
    levels = [int(n) for n in args.calls.split(",")]
    models = load_models(config)
    cases = [
        c
        for c in load_corpus(args.corpus).cases
        if c.kind == "turn" and not c.holds_s and c.eos_s is not None
    ]
    if args.cases:
        cases = [c for c in cases if c.id in args.cases.split(",")]
    loopback: list[dict[str, Any]] = []
    sip: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="sip-load-") as tmp:
        workdir = Path(tmp)
        clips: dict[str, tuple[Path, bytes]] = {}
        for case in cases:
            clips[case.id] = (workdir / f"{case.id}.ulaw", phone_clip(case))
            clips[case.id][0].write_bytes(clips[case.id][1])
        config.serve.sip = f"127.0.0.1:{free_udp_port()}"
        config.serve.max_sessions = max(levels)
        endpoint = SipCalls(config, LLMSlots(config, models, max(levels)), ServerMetrics())
        await endpoint.start()
        try:
            first = cases[0]  # warm-up: the first session of a process pays for cold caches
            await loopback_ttfa(first, clips[first.id][1], models, config)
            for _ in range(args.runs):
                for case in cases:  # interleaved: the same machine state for both paths
                    clip_file, ulaw = clips[case.id]
                    ttfa = await loopback_ttfa(case, ulaw, models, config)
                    loopback.append({"case": case.id, "ttfa_ms": ttfa})
                    for n in levels:
                        clip = (clip_file, len(ulaw) / 8_000)
                        sip += await sip_round(endpoint, case, clip, n, workdir, args.answer_window)
                        print(f"{case.id} x{n}: {[r.get('ttfa_ms') for r in sip[-n:]]}")
        finally:
            await endpoint.close()
    return {
        "command": command,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git": git_revision(),
        "machine": machine(),
        "load_average": round(load_at_start, 2),
        "cases": [c.id for c in cases],
        "runs": args.runs,
        "answer_window_s": args.answer_window,
        "loopback": loopback,
        "sip": sip,
        "summary": summarize(loopback, sip),
    }


def main(argv: list[str] | None = None) -> None:
    import sys

    parser = argparse.ArgumentParser(prog="python -m bench.sip_load", description=__doc__)
    parser.add_argument("--corpus", default="../shared/corpus/real")
    parser.add_argument("--calls", default="1,2", help="concurrency levels, comma-separated")
    parser.add_argument("--cases", default="", help="case ids (default: turns without holds)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--answer-window",
        type=float,
        default=ANSWER_WINDOW_S,
        help="seconds each call stays up after its clip, waiting for the answer",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path, help="Markdown; a PNG plot is written beside it")
    parser.add_argument("--redraw", type=Path, help="redraw the report of a results JSON")
    args = parser.parse_args(argv)
    command = "python -m bench.sip_load " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.redraw:
        results = json.loads(args.redraw.read_text())
    else:
        results = asyncio.run(main_async(args, command))
    text = report(results)
    print(text)
    if args.json and not args.redraw:
        args.json.write_text(json.dumps(results, indent=2))
    if args.report:
        args.report.write_text(text)
        plot(results, args.report.with_suffix(".png"))


def plot(results: dict[str, Any], path: Path) -> None:
    """TTFA p50/p95 and the share of calls that heard audio, against concurrent calls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = results["summary"]["levels"]
    calls = [int(n) for n in levels]
    figure, ttfa = plt.subplots(figsize=(6.4, 3.6))
    for key, label in (("ttfa_p50_ms", "TTFA p50"), ("ttfa_p95_ms", "TTFA p95")):
        values = [levels[n][key] / 1000 if levels[n][key] else float("nan") for n in levels]
        ttfa.plot(calls, values, marker="o", label=label)
    ttfa.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    ttfa.set_xscale("log", base=2)
    ttfa.set_xticks(calls, [str(n) for n in calls])
    ttfa.set_xlabel("concurrent SIP calls")
    ttfa.set_ylabel("TTFA at the caller (s)")
    heard = ttfa.twinx()
    heard.plot(
        calls,
        [100 * levels[n]["heard"] / levels[n]["calls"] for n in levels],
        color="black",
        linestyle="--",
        marker="x",
        label="calls that heard audio (%)",
    )
    heard.set_ylim(0, 105)
    heard.set_ylabel("heard audio (%)")
    lines = ttfa.get_legend_handles_labels()[0] + heard.get_legend_handles_labels()[0]
    labels = ttfa.get_legend_handles_labels()[1] + heard.get_legend_handles_labels()[1]
    ttfa.legend(lines, labels, loc="upper left", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
