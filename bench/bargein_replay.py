"""Replay the barge-in policy offline over a corpus's overlay clips, with the real VAD and STT.

The live bench (`voice bench CORPUS`) measures barge-in end to end, but one run of the overlay
corpus takes ~15 minutes and its numbers move with the machine's load. The policy is sans-IO, so
its judgement can be replayed much faster and reproducibly: every clip's frames go through the
same Silero VAD stream and `BargeInPolicy` as in a session; each quick transcription the policy
asks for is run on the real Whisper and its result is delivered at the media time the request
was made plus the measured STT time (one STT worker, as in the session). What comes out per clip
is when the reply would have paused, resumed or stopped, measured from the sound's onset, and
the same verdicts as the live bench: stop latency for barge-ins; a false barge-in when a
backchannel or noise stopped the reply or held it longer than 300 ms.

It leaves out what only the live run has: the transport's queue, the event loop, and the other
stages' CPU use while the bot speaks (the live bench measures those).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.corpus import OVERLAY_KINDS, Case, load_corpus
from bench.measure import FALSE_PAUSE_MS, _stats
from bench.results import git_revision
from voice.audio import FRAME_MS, SAMPLE_RATE, split_frames
from voice.bargein.controller import snippet_transcriber
from voice.bargein.policy import BargeInPolicy, BargeInSettings, Decision
from voice.config import Config
from voice.errors import VoiceError
from voice.providers.base import STT, VAD

NS_PER_MS = 1_000_000


@dataclass
class Replayed:
    """One clip's replay: its decisions (times from the onset) and the verdicts."""

    id: str
    kind: str
    decisions: list[dict[str, Any]] = field(default_factory=list)
    stop_ms: float | None = None  # barge-in: when the reply stopped for good
    paused_ms: float = 0.0
    interrupted: bool = False
    false_bargein: bool | None = None
    stt_ms: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "stop_ms": self.stop_ms,
            "paused_ms": round(self.paused_ms, 1),
            "interrupted": self.interrupted,
            "false_bargein": self.false_bargein,
            "stt_ms": [round(ms, 1) for ms in self.stt_ms],
            "decisions": self.decisions,
        }


TimedSnippetSTT = Callable[[np.ndarray], tuple[str, float | None, float]]


def timed(stt: STT) -> TimedSnippetSTT:
    """The session's quick STT of a snippet: (text, log-prob, what it cost in ms)."""
    transcribe = snippet_transcriber(stt)

    def run(pcm: np.ndarray) -> tuple[str, float | None, float]:
        started = time.perf_counter()
        text, logprob = transcribe(pcm)
        return text, logprob, (time.perf_counter() - started) * 1000

    return run


def replay_clip(
    case: Case, settings: BargeInSettings, vad: VAD, stt: TimedSnippetSTT, tail_ms: int = 800
) -> Replayed:
    """Replay one overlay clip (the bot speaking from its first frame)."""
    assert case.onset_s is not None
    pcm = case.load_pcm()
    pcm = np.concatenate([pcm, np.zeros(SAMPLE_RATE * tail_ms // 1000, dtype=np.int16)])
    onset_ns = round(case.rel(case.onset_s) * 1e9)
    stream = vad.new_stream()
    policy = BargeInPolicy(settings)
    policy.bot_started()
    out = Replayed(case.id, case.kind)
    # (due_ns, text, log-prob, final, speech_ns) of the quick STT running on the worker
    pending: tuple[int, str, float | None, bool, int] | None = None
    paused_at: int | None = None

    def act(decisions: list[Decision]) -> None:
        nonlocal pending, paused_at
        for d in decisions:
            at_ms = round((d.at_ns - onset_ns) / NS_PER_MS, 1)
            if d.kind == "transcribe" and d.snippet is not None:
                text, logprob, cost_ms = stt(d.snippet)
                out.stt_ms.append(cost_ms)
                pending = (
                    d.at_ns + round(cost_ms * NS_PER_MS),
                    text,
                    logprob,
                    bool(d.inputs.get("final")),
                    int(d.inputs["speech_ns"]),
                )
                continue
            out.decisions.append(
                {
                    "at_ms": at_ms,
                    "decision": d.kind,
                    "reason": d.reason,
                    "transcript": d.inputs.get("transcript"),
                    "logprob": d.inputs.get("logprob"),
                }
            )
            if d.kind == "pause":
                paused_at = d.at_ns
            elif d.kind == "resume" and paused_at is not None:
                out.paused_ms += (d.at_ns - paused_at) / NS_PER_MS
                paused_at = None
            elif d.kind == "interrupt":
                out.interrupted = True
                if paused_at is not None:
                    out.paused_ms += (d.at_ns - paused_at) / NS_PER_MS
                # Playout stopped at the pause if it never played on since; else now.
                stop_ns = paused_at if paused_at is not None else d.at_ns
                out.stop_ms = round((stop_ns - onset_ns) / NS_PER_MS, 1)
                paused_at = None

    for index, frame in enumerate(split_frames(pcm)):
        media_ns = index * FRAME_MS * NS_PER_MS
        if pending is not None and pending[0] <= media_ns:
            due, text, logprob, final, speech_ns = pending
            pending = None
            act(policy.transcript(text, due, final, speech_ns, logprob))
        if policy.state in ("idle", "interrupted"):
            break
        act(policy.push_frame(frame, stream.probability(frame), media_ns))
    if paused_at is not None:  # still held at the end of the clip and its tail
        out.paused_ms += (len(pcm) * 1e9 / SAMPLE_RATE - paused_at) / NS_PER_MS
    if case.kind != "barge_in":
        out.false_bargein = out.interrupted or out.paused_ms > FALSE_PAUSE_MS
    return out


def summarize(replays: list[Replayed]) -> dict[str, Any]:
    barge = [r for r in replays if r.kind == "barge_in"]
    others = [r for r in replays if r.kind != "barge_in"]
    stops = [r.stop_ms for r in barge if r.stop_ms is not None]
    return {
        "barge_ins": len(barge),
        "stopped": len(stops),
        "stop_ms": _stats(stops),
        "stop_within_150": sum(s <= 150 for s in stops),
        "others": len(others),
        "false_bargeins": sum(bool(r.false_bargein) for r in others),
        "false_by_kind": {
            kind: f"{sum(bool(r.false_bargein) for r in others if r.kind == kind)}/"
            f"{sum(r.kind == kind for r in others)}"
            for kind in sorted({r.kind for r in others})
        },
        "stt_ms": _stats([ms for r in replays for ms in r.stt_ms]),
    }


# -- `voice bench CORPUS --sweep bargein` ------------------------------------------------------

# The variants replayed beside the configured policy: the two strategies and the two ways an
# undecided pause can end (docs/bargein.md, "Why the two targets pull against each other").
VARIANTS: dict[str, dict[str, Any]] = {
    "pause, undecided=interrupt": {"strategy": "pause", "undecided": "interrupt"},
    "pause, undecided=resume": {"strategy": "pause", "undecided": "resume"},
    "wait": {"strategy": "wait"},
}


def memoized(stt: TimedSnippetSTT) -> TimedSnippetSTT:
    """Each distinct snippet is transcribed once; every variant sees the same text and cost."""
    seen: dict[bytes, tuple[str, float | None, float]] = {}

    def run(pcm: np.ndarray) -> tuple[str, float | None, float]:
        key = pcm.tobytes()
        if key not in seen:
            seen[key] = stt(pcm)
        return seen[key]

    return run


def sweep_bargein(
    cases: list[Case], settings: BargeInSettings, vad: VAD, stt: STT
) -> dict[str, Any]:
    """The configured policy and each variant over every overlay clip."""
    transcribe = memoized(timed(stt))
    policies = {"configured": settings} | {
        name: replace(settings, **changes) for name, changes in VARIANTS.items()
    }
    results: dict[str, Any] = {}
    for name, policy in policies.items():
        replays = [replay_clip(case, policy, vad, transcribe) for case in cases]
        results[name] = {
            "settings": asdict(policy),
            **summarize(replays),
            "clips": [r.to_dict() for r in replays],
        }
    return results


def sweep_bargein_command(
    corpus_dir: Path, config: Config, json_path: Path | None, console: Console
) -> int:
    from voice.bargein.controller import settings_from_config
    from voice.providers.registry import load_stt, load_vad

    corpus = load_corpus(corpus_dir)
    cases = corpus.of_kind(*OVERLAY_KINDS)
    if not cases:
        raise VoiceError(f"{corpus_dir} has no barge_in, backchannel or noise cases")
    vad, stt = load_vad(config), load_stt(config)
    stt.transcribe(np.zeros(SAMPLE_RATE // 2, dtype=np.int16))  # warm, as the bench does
    results = sweep_bargein(cases, settings_from_config(config.bargein), vad, stt)
    table = Table(title=f"barge-in replay · {corpus_dir}")
    for column in ("policy", "stop p50 / p95 (ms)", "≤ 150 ms", "false barge-ins", "by kind"):
        table.add_column(column)
    for name, result in results.items():
        stops = result["stop_ms"] or {}
        others = result["others"]
        table.add_row(
            name,
            f"{stops.get('p50')} / {stops.get('p95')}",
            f"{result['stop_within_150']}/{result['barge_ins']}",
            f"{result['false_bargeins']}/{others}" if others else "-",
            ", ".join(f"{k} {v}" for k, v in result["false_by_kind"].items()),
        )
    console.print(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"corpus": str(corpus_dir), "git": git_revision(), "policies": results}
        json_path.write_text(json.dumps(payload, indent=1) + "\n")
        console.print(f"results written to {json_path}")
    return 0
