"""Replays a corpus through one or more agents, interleaved, and collects the measurements.

Each case is played in real time through a fresh `LoopbackTransport` (and a fresh session of
the agent); overlay cases (barge-in, backchannel, noise) are played 1.0 s into the agent's
answer to a priming turn chosen by the harness. Runs interleave agents case by case, and the
order rotates from one case to the next (ours, peer A, peer B; then peer A, peer B, ours; ...),
so that neither drift in the machine's speed nor playing first (or right after another agent
left a model's cache warm) favours any one agent. The order of play is kept in the results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.agents import BenchAgent
from bench.corpus import Case, Corpus
from bench.measure import Recording, measure_case
from voice.errors import VoiceError
from voice.transports.loopback import LoopbackTransport, Overlay

OVERLAY_AFTER_OUTPUT_S = 1.0
CASE_TIMEOUT_PAD_S = 40.0


@dataclass
class BenchRun:
    cases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # agent -> records
    skipped: list[str] = field(default_factory=list)  # "case id: reason"
    order: list[dict[str, Any]] = field(default_factory=list)  # per case: run, id, agents
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # agent -> describe()
    # the commit the run started from: a run takes an hour, and the tree may move meanwhile
    git: dict[str, Any] = field(default_factory=dict)


def play_order(agents: list[BenchAgent], index: int) -> list[BenchAgent]:
    """The agents in the order they play the `index`-th case: rotated by one each case."""
    if not agents:
        return []
    shift = index % len(agents)
    return agents[shift:] + agents[:shift]


def describe(agent: BenchAgent) -> dict[str, Any]:
    """What the agent says about itself (threads, end-of-turn model, warm-up), if it can."""
    method = getattr(agent, "describe", None)
    return dict(method()) if callable(method) else {}


def priming_case(corpus: Corpus) -> Case | None:
    """The shortest turn without holds: it gets the agent talking before an overlay."""
    turns = [c for c in corpus.of_kind("turn") if not c.holds_s and c.eos_s is not None]
    if not turns:
        return None
    return min(turns, key=lambda c: (c.eos_s or 0) - c.start_s)


async def run_case(
    agent: BenchAgent, case: Case, pcm: np.ndarray, priming: np.ndarray | None
) -> Recording:
    if case.kind == "turn":
        transport = LoopbackTransport(pcm)
    else:
        assert priming is not None
        transport = LoopbackTransport(
            priming,
            overlay=Overlay(pcm, after_output_s=case.after_output_s or OVERLAY_AFTER_OUTPUT_S),
        )
    timeout = len(pcm) / 16000 + CASE_TIMEOUT_PAD_S
    error: str | None = None
    turns: list[dict[str, Any]] = []
    try:
        turns = await asyncio.wait_for(agent.run(transport), timeout)
    except TimeoutError:
        error = f"timed out after {timeout:.0f} s"
    except Exception as exc:  # one case's failure is recorded; the rest of the corpus runs
        error = f"{type(exc).__name__}: {exc}"
    return Recording(
        origin_ns=transport.origin_ns or time.monotonic_ns(),
        output_ns=[handed for handed, _ in transport.output],
        overlay_start_ns=transport.overlay_start_ns,
        turns=turns,
        error=error,
    )


async def run_corpus(
    corpus: Corpus,
    agents: list[BenchAgent],
    runs: int = 1,
    progress: Callable[[str], None] | None = None,
    primer: Case | None = None,
) -> BenchRun:
    """Replay `corpus`; overlay cases are played over the answer to `primer` (by default the
    corpus's own priming turn, which may lie outside a filtered case list)."""
    from bench.results import git_revision  # results builds on this module's BenchRun

    result = BenchRun(cases={agent.name: [] for agent in agents}, git=git_revision())
    audio: dict[str, np.ndarray] = {}
    for case in corpus.cases:
        try:
            audio[case.id] = case.load_pcm()
        except VoiceError as exc:
            result.skipped.append(f"{case.id}: {exc}")
    primer = primer or priming_case(corpus)
    priming: np.ndarray | None = None
    if primer is not None:
        priming = audio[primer.id] if primer.id in audio else primer.load_pcm()
    for case in corpus.of_kind("barge_in", "backchannel", "noise"):
        if priming is None and case.id in audio:
            del audio[case.id]
            result.skipped.append(f"{case.id}: no turn case to get the agent talking first")
    for agent in agents:
        await agent.start()
        result.agents[agent.name] = describe(agent)
    try:
        played = 0
        for run in range(runs):
            for case in corpus.cases:
                if case.id not in audio:
                    continue
                playing = play_order(agents, played)
                played += 1
                result.order.append(
                    {"run": run, "id": case.id, "agents": [agent.name for agent in playing]}
                )
                for position, agent in enumerate(playing):
                    recording = await run_case(agent, case, audio[case.id], priming)
                    record = measure_case(case, recording, run)
                    record["play_position"] = position
                    result.cases[agent.name].append(record)
                    if progress is not None:
                        progress(f"{agent.name}: {case.id}")
    finally:
        for agent in agents:
            await agent.close()
    return result
