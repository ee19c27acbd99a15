"""The harness arithmetic on cases with known answers.

`FixedDelayAgentDouble` is a test double, not an agent: it hears "speech" by amplitude, answers
a fixed time after the caller goes quiet, and stops talking a fixed time after it hears speech
over its own audio. Its TTFA, false cut-offs and stop latency are known to the frame, so the
harness's measurements of it must match.
"""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.corpus import load_corpus
from bench.results import budget_gate, build_results
from bench.runner import run_corpus
from voice.audio import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE
from voice.config import STAGES, Config
from voice.transports.loopback import LoopbackTransport

SILENCE_MS = 200
ANSWER_DELAY_MS = 100
REPLY_MS = 2000
STOP_DELAY_MS = 60
FRAME_TOLERANCE_MS = FRAME_MS + 15  # one frame of quantization plus event-loop scheduling

pytestmark = pytest.mark.slow  # plays audio in real time (about a minute)


class FixedDelayAgentDouble:
    def __init__(self, name: str = "double", stops_on_speech: bool = True) -> None:
        self.name = name
        self.stops_on_speech = stops_on_speech

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def run(self, transport: LoopbackTransport) -> list[dict[str, Any]]:
        turns: list[dict[str, Any]] = []
        speaking: asyncio.Task[None] | None = None
        stop_at: list[float] = []
        last_voice_end: int | None = None

        async def reply(turn: dict[str, Any]) -> None:
            await asyncio.sleep(ANSWER_DELAY_MS / 1000)
            tone = (3000 * np.sin(np.arange(FRAME_SAMPLES) / 5)).astype(np.int16)
            for _ in range(REPLY_MS // FRAME_MS):
                if stop_at:
                    turn["interrupted"] = True
                    return
                handed = await transport.send_audio(tone)
                turn.setdefault("first_audio_ns", handed)

        async for frame in transport.audio_input():
            voiced = int(np.abs(frame.pcm.astype(np.int32)).max()) > 1000
            if voiced:
                last_voice_end = frame.end_time_ns
                if speaking is not None and not speaking.done() and self.stops_on_speech:
                    if not stop_at:
                        loop = asyncio.get_running_loop()
                        loop.call_later(STOP_DELAY_MS / 1000, stop_at.append, 1.0)
                continue
            if last_voice_end is not None and speaking is None:
                if frame.end_time_ns - last_voice_end >= SILENCE_MS * 1_000_000:
                    turn = {
                        "transcript": "tone",
                        "reply": "tone",
                        "interrupted": False,
                        "spans": {
                            "endpoint": {"start_ns": last_voice_end, "end_ns": frame.end_time_ns}
                        },
                    }
                    turns.append(turn)
                    speaking = asyncio.create_task(reply(turn))
        if speaking is not None:
            await speaking
        return turns


def tone(seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.int16)


def write(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm.tobytes())


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    write(tmp_path / "plain.wav", np.concatenate([silence(0.4), tone(0.8)]))
    # a 0.5 s hold: longer than the double's 200 ms silence threshold, so it cuts in
    write(tmp_path / "hold.wav", np.concatenate([silence(0.4), tone(0.6), silence(0.5), tone(0.6)]))
    write(tmp_path / "stop.wav", np.concatenate([silence(0.2), tone(0.6)]))
    write(tmp_path / "mm.wav", np.concatenate([silence(0.1), tone(0.3)]))
    lines = [
        {
            "id": "plain",
            "audio": "plain.wav",
            "kind": "turn",
            "text": "tone",
            "eos_s": 1.2,
            "holds_s": [],
        },
        {
            "id": "hold",
            "audio": "hold.wav",
            "kind": "turn",
            "text": "tone",
            "eos_s": 2.1,
            "holds_s": [1.0],
        },
        {"id": "stop", "audio": "stop.wav", "kind": "barge_in", "text": "stop", "onset_s": 0.2},
        {"id": "mm", "audio": "mm.wav", "kind": "backchannel", "text": "mm", "onset_s": 0.1},
    ]
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return tmp_path


def run(corpus_dir: Path, agent: FixedDelayAgentDouble) -> dict[str, Any]:
    corpus = load_corpus(corpus_dir)
    assert not corpus.problems
    bench = asyncio.run(run_corpus(corpus, [agent], runs=1))
    return {case["id"]: case for case in bench.cases[agent.name]}


def test_ttfa_false_cutoff_and_stop_latency_are_measured_to_the_frame(corpus_dir):
    cases = run(corpus_dir, FixedDelayAgentDouble("ours"))
    expected_ttfa = SILENCE_MS + ANSWER_DELAY_MS
    assert cases["plain"]["ttfa_ms"] == pytest.approx(expected_ttfa, abs=FRAME_TOLERANCE_MS)
    assert cases["plain"]["false_cutoff"] is False
    assert cases["plain"]["endpoint_ms"] == pytest.approx(SILENCE_MS, abs=FRAME_TOLERANCE_MS)
    assert cases["hold"]["false_cutoff"] is True and cases["hold"]["ttfa_ms"] is None
    # hears the barge-in one frame after its onset, stops STOP_DELAY_MS later
    assert cases["stop"]["stop_ms"] == pytest.approx(
        FRAME_MS + STOP_DELAY_MS, abs=FRAME_TOLERANCE_MS
    )
    assert cases["mm"]["false_bargein"] is True


def test_an_agent_that_never_stops_is_measured_as_such(corpus_dir):
    cases = run(corpus_dir, FixedDelayAgentDouble("ours", stops_on_speech=False))
    assert cases["mm"]["false_bargein"] is False
    # it talks on to the end of its 2 s reply, which started 1.0 s before the overlay
    assert cases["stop"]["stop_ms"] == pytest.approx(
        REPLY_MS - 1000 - 200, abs=3 * FRAME_TOLERANCE_MS
    )


def test_results_have_every_corpus_md_key_and_nulls_where_nothing_applies(corpus_dir):
    corpus = load_corpus(corpus_dir)
    bench = asyncio.run(run_corpus(corpus, [FixedDelayAgentDouble("ours")], runs=2))
    results = build_results(corpus_dir, bench, 2, Config(), {c.id: c.text for c in corpus.cases})
    for key in (
        "corpus",
        "runs",
        "config",
        "ttfa_ms",
        "stages_ms",
        "false_cutoff_rate",
        "endpoint_ms",
        "bargein_stop_ms",
        "false_bargein_rate",
        "wer",
        "cases",
        "peers",
    ):
        assert key in results, key
    assert set(results["ttfa_ms"]) >= {"n", "p50", "p95", "mean"}
    assert set(results["stages_ms"]) == set(STAGES)
    assert results["stages_ms"]["stt"] is None  # the double reports no STT span
    assert results["ttfa_ms"]["n"] == 2  # two runs of the one clean turn
    assert results["false_cutoff_rate"] == 0.5
    assert results["bargein_stop_ms"]["n"] == 2
    for case in results["cases"]:
        for key in ("id", "kind", "ttfa_ms", "false_cutoff", "transcript", "reply", "spans"):
            assert key in case
    json.dumps(results)  # serializable


def test_budget_gate_names_the_stage_furthest_over_its_share():
    results = {
        "ttfa_ms": {"p50": 700.0},
        "budget": {"stages": {"endpoint": 200, "stt": 80, "llm.ttft": 60}},
        "stages_ms": {"endpoint": {"p50": 300.0}, "stt": {"p50": 90.0}, "llm.ttft": {"p50": 400.0}},
    }
    message = budget_gate(results, 500)
    assert message is not None and "llm.ttft" in message and "700" in message
    results["ttfa_ms"]["p50"] = 450.0
    assert budget_gate(results, 500) is None


def test_bad_manifest_lines_are_reported_and_the_rest_still_loads(corpus_dir):
    manifest = corpus_dir / "manifest.jsonl"
    good = manifest.read_text()
    manifest.write_text(
        good
        + "{not json\n"
        + json.dumps({"id": "gone", "audio": "missing.wav", "kind": "turn", "eos_s": 1})
        + "\n"
        + json.dumps(
            {
                "id": "far",
                "audio": "plain.wav",
                "kind": "turn",
                "eos_s": 1,
                "start_s": 0.5,
                "stop_s": 9.0,
            }
        )
        + "\n"
        + json.dumps({"id": "odd", "audio": "plain.wav", "kind": "laughter"})
        + "\n"
        + json.dumps({"id": "noeos", "audio": "plain.wav", "kind": "turn"})
        + "\n"
    )
    corpus = load_corpus(corpus_dir)
    assert [c.id for c in corpus.cases] == ["plain", "hold", "stop", "mm"]
    reasons = {p.line: p.reason for p in corpus.problems}
    assert "not valid JSON" in reasons[5]
    assert "missing.wav not found" in reasons[6]
    assert "outside the file" in reasons[7]
    assert "unknown kind 'laughter'" in reasons[8]
    assert "'eos_s' is required" in reasons[9]


def test_agents_take_turns_playing_first_and_the_order_is_recorded(corpus_dir):
    corpus = load_corpus(corpus_dir)
    corpus.cases = [c for c in corpus.cases if c.kind == "turn"]  # plain, hold
    agents = [FixedDelayAgentDouble("ours"), FixedDelayAgentDouble("peer")]
    bench = asyncio.run(run_corpus(corpus, agents, runs=1))
    assert bench.order == [
        {"run": 0, "id": "plain", "agents": ["ours", "peer"]},
        {"run": 0, "id": "hold", "agents": ["peer", "ours"]},
    ]
    assert [c["play_position"] for c in bench.cases["ours"]] == [0, 1]
    assert [c["play_position"] for c in bench.cases["peer"]] == [1, 0]
    # the same double measures the same whatever its position
    assert bench.cases["peer"][0]["ttfa_ms"] == pytest.approx(
        bench.cases["ours"][0]["ttfa_ms"], abs=FRAME_TOLERANCE_MS
    )
