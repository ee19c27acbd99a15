"""The fused end-of-turn decision on real speech, with the real models, in real time."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.integration.test_real_speech import case_audio
from voice.agent.session import VoiceSession
from voice.config import load_config
from voice.providers.registry import load_models
from voice.talk import talk
from voice.transports.loopback import LoopbackTransport
from voice.turn_taking.decision import FusedEndOfTurn

pytestmark = pytest.mark.slow


def test_hello_world_is_a_sure_turn_answered_after_the_shortest_wait(
    real_corpus, real_cases, config, models
):
    case = real_cases["hello-world"]
    result = talk(case_audio(real_corpus, case), config, models)
    answered = [t for t in result.turns if t["outcome"] == "answered"]
    assert len(answered) == 1, result.turns
    record = answered[0]
    decision = record["end_of_turn"]
    assert decision["detector"] == "words"
    assert {"words", "cue", "p_finished", "wait_ms", "transcript"} <= set(decision)
    # A sure turn: the policy's shortest wait, and the decision commits within two 20 ms
    # frames of the words evidence arriving. Under 400 ms (the bound) on an idle
    # machine; on a loaded one the evidence itself comes late (CI once saw 460 ms), so the
    # bound grows with it. TTFA and endpoint targets are `voice bench`'s to check.
    assert decision["wait_ms"] == config.turn.min_wait_ms, decision
    words_after_ms = decision["evidence_after_ms"]["words"]
    endpoint_ms = record["spans"]["endpoint"]["ms"]
    assert endpoint_ms <= max(400, words_after_ms + 40), decision


def test_the_hold_in_lecture_b_is_waited_out(real_corpus, real_cases, config, models):
    case = real_cases["lecture-b"]
    pcm = case_audio(real_corpus, case)
    result = talk(pcm, config, models)
    answered = [t for t in result.turns if t["outcome"] == "answered"]
    assert len(answered) == 1, result.turns
    record = answered[0]
    # the answer comes after the true end of speech (6.85 s in the file, 4.35 s in the slice)
    eos_in_slice_ms = (case["eos_s"] - case["start_s"]) * 1000
    assert record["eos_ms"] >= eos_in_slice_ms - 150, record
    assert "wouldn't start from here" in record["transcript"].lower().replace("’", "'")


def test_a_cancelled_speculation_leaves_nothing_and_the_prefix_stays_warm(
    real_corpus, real_cases, config, models
):
    """lecture-b pauses after "And the answer that comes back is," and goes on: the
    speculation started in that hold is discarded without audio, history or tasks, and the
    answer's LLM starts on a warm prefix."""
    pcm = case_audio(real_corpus, real_cases["lecture-b"])

    async def main():
        transport = LoopbackTransport(pcm)
        session = VoiceSession(transport, models, config)
        result = await session.run()
        leftover = [t for t in asyncio.all_tasks() if t.get_name().startswith("turn")]
        return session, result, leftover, transport

    session, result, leftover, transport = asyncio.run(main())
    assert leftover == []
    assert result.discarded >= 1  # the speculation at the hold
    answered = [t for t in result.turns if t.outcome == "answered"]
    assert len(answered) == 1, [(t.outcome, t.transcript) for t in result.turns]
    assert [turn.role for turn in session.history] == ["user", "assistant"]
    assert "start from here" in session.history[0].text.lower()
    # no audio before the answer: the discarded speculation played nothing
    assert transport.first_output_ns == answered[0].first_audio_ns
    ttft_ms = answered[0].spans["llm.ttft"].duration_ns / 1e6
    assert ttft_ms < 250, f"llm.ttft {ttft_ms:.0f} ms: the prompt prefix was evaluated again"


def test_a_missing_smart_turn_model_falls_back_to_words_and_pause(
    real_corpus, real_cases, tmp_path, caplog
):
    config = load_config(environ={})
    config.turn = dataclasses.replace(
        config.turn, detector="fused", smart_turn_path=str(tmp_path / "none.onnx")
    )
    with caplog.at_level(logging.WARNING):
        models = load_models(config)
        assert models.smart_turn is None
        session = VoiceSession(LoopbackTransport(np.zeros(160, np.int16)), models, config)
    assert isinstance(session.detector, FusedEndOfTurn)
    assert session.detector.policy.detector == "words"
    assert any("Smart Turn" in r.getMessage() for r in caplog.records)
    case = real_cases["weather-question"]
    result = talk(case_audio(real_corpus, case), config, models)
    assert [t["outcome"] for t in result.turns] == ["answered"]
    assert result.turns[0]["end_of_turn"]["detector"] == "words"


def test_doctor_names_a_corrupt_smart_turn_model(tmp_path):
    bad = tmp_path / "smart.onnx"
    bad.write_bytes(b"not an onnx model")
    cfg = tmp_path / "voice.toml"
    cfg.write_text(f'[turn]\ndetector = "fused"\nsmart_turn_path = "{bad}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "voice", "doctor", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "600", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path.home())},
    )
    assert result.returncode == 1
    table = re.sub(r"[\s│]", "", result.stdout)  # the table wraps long messages over lines
    assert "smart.onnx" in table and "wordsandpause" in table
    assert "Traceback" not in result.stderr


def test_the_fused_detector_hears_smart_turn_on_real_speech(real_corpus, real_cases):
    config = load_config(environ={"VOICE_TURN__DETECTOR": "fused"})
    models = load_models(config)
    assert models.smart_turn is not None
    case = real_cases["weather-question"]
    result = talk(case_audio(real_corpus, case), config, models)
    answered = [t for t in result.turns if t["outcome"] == "answered"]
    assert len(answered) == 1, result.turns
    decision = answered[0]["end_of_turn"]
    assert decision["detector"] == "fused"
    assert decision["smart_turn"] > 0.5  # a complete question, heard as one
    assert "smart_turn" in decision["evidence_after_ms"]
