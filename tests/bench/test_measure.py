"""The harness arithmetic on hand-made recordings: no audio is played, every answer is known.

These pin the rules that keep the numbers from flattering an agent: a reply to a turn committed
before the user finished is a false cut-off even if its audio came later; false cut-offs and
failed cases are in no latency statistic; an agent that had already stopped has no stop
latency; the play order rotates; a gate fails on false cut-offs and on failures.
"""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.corpus import Case, audio_kind, load_corpus
from bench.measure import Recording, measure_overlay, measure_turn, summarize
from bench.results import build_results, failures, false_cutoff_gate, peer_ratios
from bench.runner import BenchRun, play_order
from voice.config import Config

MS = 1_000_000
ORIGIN = 10_000 * MS
EOS_S = 2.0
EOS = ORIGIN + round(EOS_S * 1000) * MS


def turn_case(case_id: str = "t", kind: str = "wideband") -> Case:
    return Case(case_id, Path("x.wav"), "turn", text="hello there", eos_s=EOS_S, audio_kind=kind)


def agent_turn(commit_ns: int, first_audio_ns: int | None, transcript: str = "hello there"):
    return {
        "transcript": transcript,
        "reply": "hi",
        "first_audio_ns": first_audio_ns,
        "spans": {
            "endpoint": {"start_ns": commit_ns - 300 * MS, "end_ns": commit_ns},
            "stt": {"start_ns": commit_ns, "end_ns": commit_ns + 50 * MS},
        },
    }


def recording(commit_ns: int, first_ns: int | None, error: str | None = None) -> Recording:
    output = [] if first_ns is None else [first_ns + i * 20 * MS for i in range(50)]
    return Recording(ORIGIN, output, turns=[agent_turn(commit_ns, first_ns)], error=error)


def test_a_timely_answer_is_measured() -> None:
    record = measure_turn(turn_case(), recording(EOS + 300 * MS, EOS + 450 * MS), 0)
    assert record["false_cutoff"] is False and record["false_cutoff_by"] is None
    assert record["ttfa_ms"] == 450.0 and record["endpoint_ms"] == 300.0


def test_a_reply_that_keeps_up_with_playout_has_no_stall() -> None:
    # frames handed over ahead of their playout (as a paced transport takes them): no stall
    ahead = [EOS + 450 * MS + i * 15 * MS for i in range(50)]
    rec = Recording(ORIGIN, ahead, turns=[agent_turn(EOS + 300 * MS, ahead[0])])
    assert measure_turn(turn_case(), rec, 0)["stall_ms"] == 0.0


def test_a_late_frame_inside_a_reply_is_a_stall_and_a_second_reply_is_not() -> None:
    first = [EOS + 450 * MS + i * 20 * MS for i in range(10)]  # plays until +650 ms
    late = [EOS + 800 * MS + i * 20 * MS for i in range(10)]  # 150 ms of silence before it
    second = [EOS + 3000 * MS + i * 20 * MS for i in range(5)]  # the next reply's own start
    turns = [agent_turn(EOS + 300 * MS, first[0]), agent_turn(EOS + 2900 * MS, second[0])]
    rec = Recording(ORIGIN, first + late + second, turns=turns)
    assert measure_turn(turn_case(), rec, 0)["stall_ms"] == 150.0


def test_a_commit_before_the_end_of_speech_is_a_false_cutoff_even_if_audio_came_after() -> None:
    record = measure_turn(turn_case(), recording(EOS - 100 * MS, EOS + 200 * MS), 0)
    assert record["false_cutoff"] is True
    assert record["false_cutoff_by"] == "commit_before_eos"
    assert record["ttfa_ms"] is None


def test_audio_before_the_end_of_speech_is_a_false_cutoff() -> None:
    record = measure_turn(turn_case(), recording(EOS - 400 * MS, EOS - 200 * MS), 0)
    assert record["false_cutoff"] is True and record["false_cutoff_by"] == "audio_before_eos"


def test_a_failed_or_timed_out_case_is_an_error_never_a_measurement() -> None:
    record = measure_turn(
        turn_case(), recording(EOS + 300 * MS, EOS + 450 * MS, error="timed out after 45 s"), 0
    )
    assert record["error"] == "timed out after 45 s"
    assert record["ttfa_ms"] is None and record["false_cutoff"] is None
    assert record["endpoint_ms"] is None and record["spans"] == {} and record["wer"] is None


def test_statistics_leave_out_false_cutoffs_and_errors() -> None:
    case = turn_case()
    cases = [
        measure_turn(case, recording(EOS + 300 * MS, EOS + 450 * MS), 0),
        measure_turn(case, recording(EOS + 500 * MS, EOS + 650 * MS), 1),
        # committed 2.8 s early: its endpoint delay (-2800 ms) must not drag the mean down
        measure_turn(case, recording(EOS - 2800 * MS, EOS + 100 * MS), 2),
        measure_turn(case, recording(EOS + 100 * MS, EOS + 150 * MS, error="boom"), 3),
    ]
    summary = summarize(cases, {"t": "hello there"})
    assert summary["ttfa_ms"]["n"] == 2 and summary["ttfa_ms"]["mean"] == 550.0
    assert summary["endpoint_ms"]["mean"] == 400.0  # the two timely turns only
    assert summary["stages_ms"]["endpoint"]["p50"] == 300.0
    assert summary["stages_ms"]["stt"]["p50"] == 50.0
    assert summary["false_cutoff_rate"] == pytest.approx(1 / 3, abs=1e-4)  # errors not counted
    assert summary["false_cutoffs"] == 1 and summary["turns_measured"] == 3
    assert summary["errors"] == 1


def test_wer_by_audio_kind() -> None:
    cases = [
        measure_turn(turn_case("a", "wideband"), recording(EOS + 300 * MS, EOS + 450 * MS), 0),
        measure_turn(turn_case("b", "phone"), recording(EOS + 300 * MS, EOS + 450 * MS), 0),
    ]
    cases[1]["transcript"] = "hello"
    summary = summarize(cases, {"a": "hello there", "b": "hello there"})
    assert summary["wer_by_kind"] == {"wideband": 0.0, "phone": 0.5, "noisy": None}


def test_audio_kind_from_the_manifest() -> None:
    assert audio_kind({"audio_kind": "phone"}) == "phone"
    assert audio_kind({"synth": {"degradation": {"telephone": True, "mu_law": True}}}) == "phone"
    assert audio_kind({"synth": {"degradation": {"noise": "brown", "snr_db": 16.0}}}) == "noisy"
    assert audio_kind({"synth": {"degradation": {}}}) == "wideband"
    assert audio_kind({}) == "wideband"
    with pytest.raises(ValueError, match="audio_kind"):
        audio_kind({"audio_kind": 3})


def test_corpus_lines_keep_unknown_fields_and_read_the_audio_kind(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "a.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(np.zeros(16_000, dtype=np.int16).tobytes())
    base = {"audio": "a.wav", "kind": "turn", "text": "hi", "eos_s": 0.5, "extra": {"x": 1}}
    lines = [
        {**base, "id": "plain"},
        {**base, "id": "tel", "synth": {"degradation": {"telephone": True}}},
        {**base, "id": "said", "audio_kind": "noisy"},
    ]
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    corpus = load_corpus(tmp_path)
    assert not corpus.problems
    assert [c.audio_kind for c in corpus.cases] == ["wideband", "phone", "noisy"]


def overlay_case() -> Case:
    return Case("stop", Path("x.wav"), "barge_in", text="stop", onset_s=0.2)


def test_stop_latency_is_null_when_the_agent_had_already_stopped() -> None:
    overlay_start = ORIGIN + 5000 * MS
    quiet_before = [overlay_start - 1000 * MS + i * 20 * MS for i in range(10)]
    record = measure_overlay(
        overlay_case(), Recording(ORIGIN, quiet_before, overlay_start_ns=overlay_start), 0
    )
    assert record["stop_ms"] is None and record["talking_at_onset"] is False
    talking = [overlay_start - 1000 * MS + i * 20 * MS for i in range(100)]
    record = measure_overlay(
        overlay_case(), Recording(ORIGIN, talking, overlay_start_ns=overlay_start), 0
    )
    assert record["talking_at_onset"] is True
    assert record["stop_ms"] == 780.0  # last frame at +980 ms, onset at +200 ms


def test_play_order_rotates_case_by_case() -> None:
    agents: list[Any] = ["ours", "a", "b"]
    orders = [play_order(agents, i) for i in range(4)]
    assert orders == [
        ["ours", "a", "b"],
        ["a", "b", "ours"],
        ["b", "ours", "a"],
        ["ours", "a", "b"],
    ]
    firsts = [order[0] for order in orders[:3]]
    assert sorted(firsts) == sorted(agents)


def results_with(ours_cases: list[dict[str, Any]], peer_cases: list[dict[str, Any]]):
    bench = BenchRun(
        cases={"ours": ours_cases, "peer": peer_cases},
        order=[{"run": 0, "id": "t", "agents": ["ours", "peer"]}],
        agents={
            "ours": {"threads": {"stt": 1}},
            "peer": {"threads": {"stt": 1}, "end_of_turn": {"model": "m", "version": "1"}},
        },
    )
    return build_results(Path("corpus"), bench, 1, Config(), {"t": "hello there"})


def test_results_describe_themselves_and_keep_both_ratios() -> None:
    case = turn_case()
    ours = [
        measure_turn(case, recording(EOS + 300 * MS, EOS + 400 * MS), 0),
        measure_turn(case, recording(EOS - 500 * MS, EOS - 100 * MS), 1),  # ours cut it off
    ]
    peer = [
        measure_turn(case, recording(EOS + 600 * MS, EOS + 800 * MS), 0),
        measure_turn(case, recording(EOS + 900 * MS, EOS + 1600 * MS), 1),
    ]
    results = results_with(ours, peer)
    assert set(results["git"]) == {"commit", "dirty"}
    assert results["git"]["commit"] is None or len(results["git"]["commit"]) == 40
    assert "pipecat-ai" in results["versions"] and "onnxruntime" in results["versions"]
    assert results["machine"]["cores"] >= 1
    assert results["threads"] == {"ours": {"stt": 1}, "peer": {"stt": 1}}
    assert results["order"][0]["agents"] == ["ours", "peer"]
    assert results["peers"]["peer"]["end_of_turn"] == {"model": "m", "version": "1"}
    assert "per_session" in results["warm_up"]
    ratios = results["ratios"]["peer"]
    assert ratios["matched_n"] == 1 and ratios["matched_ttfa_p50"] == 0.5
    assert ratios["ttfa_p50"] == pytest.approx(400 / 1200, abs=1e-3)  # all answered turns
    assert ratios["ours_false_cutoff_rate"] == 0.5 and ratios["peer_false_cutoff_rate"] == 0.0
    assert peer_ratios(results) == results["ratios"]  # `voice report` recomputes the same
    json.dumps(results)


def test_gates_fail_on_false_cutoffs_and_on_any_agents_failures() -> None:
    case = turn_case()
    ours = [measure_turn(case, recording(EOS - 500 * MS, EOS + 100 * MS), 0)]
    peer = [measure_turn(case, recording(EOS + 1 * MS, EOS + 2 * MS, error="timed out"), 0)]
    results = results_with(ours, peer)
    message = false_cutoff_gate(results, 0.05)
    assert message is not None and "100.0%" in message and "1 of 1" in message
    assert false_cutoff_gate(results, 1.0) is None
    assert failures(results) == ["peer: case t (run 0): timed out"]


def test_end_of_turn_predictions_are_kept_per_case_in_ms_from_the_end_of_speech() -> None:
    rec = recording(EOS + 300 * MS, EOS + 450 * MS)
    rec.turns[0]["eot_predictions"] = [
        {"at_ns": EOS + 300 * MS, "p": 0.93, "smart_turn": 0.8},
        {"at_ns": EOS - 500 * MS, "p": 0.12},
    ]
    record = measure_turn(turn_case(), rec, 0)
    assert record["eot_predictions"] == [
        {"p": 0.12, "at_ms": -500.0},
        {"p": 0.93, "smart_turn": 0.8, "at_ms": 300.0},
    ]
