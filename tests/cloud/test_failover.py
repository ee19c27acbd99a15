"""The failover wrapper's policy, with provider test doubles (no network, no model)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from voice.providers.circuit_breaker import BreakerState, CircuitBreaker
from voice.providers.cloud.secrets import remember
from voice.providers.failover import Failover, FailoverLLM, FailoverSTT, FailoverTTS
from voice.trace.turn_trace import TurnTrace, current_trace

pytestmark = pytest.mark.timeout(30)


class ScriptedLLMDouble:
    """A test double: yields `pieces`, waiting `delay_s` before the first and `gap_s` between."""

    def __init__(self, name, pieces, delay_s=0.0, gap_s=0.0, error=None):
        self.name, self.pieces, self.delay_s, self.gap_s, self.error = (
            name,
            pieces,
            delay_s,
            gap_s,
            error,
        )
        self.calls = 0

    def stream_reply(self, history, cancel) -> Iterator[str]:
        self.calls += 1
        time.sleep(self.delay_s)
        if self.error:
            raise self.error
        for i, piece in enumerate(self.pieces):
            if i:
                time.sleep(self.gap_s)
            if cancel.is_set():
                return
            yield piece

    def warm_up(self, history) -> None:
        pass

    def end_of_turn_probability(self, history, text) -> float:
        return 0.75


def _failover(first_s=0.2, stall_s=0.2, failures_to_open=1, clock=time.monotonic):
    return Failover(
        stage="llm",
        cloud_name="cloud",
        local_name="local",
        first_byte_timeout_s=first_s,
        stall_timeout_s=stall_s,
        breaker=CircuitBreaker(failures_to_open=failures_to_open, cooldown_s=30),
        clock=clock,
    )


def test_cloud_answer_in_time_is_used():
    cloud = ScriptedLLMDouble("cloud", ["Hello ", "there."])
    local = ScriptedLLMDouble("local", ["local"])
    llm = FailoverLLM(cloud, local, _failover())
    assert list(llm.stream_reply([], threading.Event())) == ["Hello ", "there."]
    assert local.calls == 0


def test_late_cloud_falls_back_to_local_in_the_same_call_and_the_trace_says_so():
    trace = TurnTrace(1, eos_ns=0)
    assert current_trace() is trace
    cloud = ScriptedLLMDouble("cloud", ["late"], delay_s=2.0)
    local = ScriptedLLMDouble("local", ["local answer"])
    failover = _failover(first_s=0.2)
    llm = FailoverLLM(cloud, local, failover)
    started = time.monotonic()
    assert list(llm.stream_reply([], threading.Event())) == ["local answer"]
    assert time.monotonic() - started < 1.0
    assert failover.breaker.state is BreakerState.OPEN
    (note,) = trace.failovers
    assert note["stage"] == "llm" and note["from"] == "cloud" and note["to"] == "local"
    assert note["reason"] == "no first output within 200 ms"
    assert trace.to_dict()["failovers"][0]["reason"] == note["reason"]


def test_open_breaker_goes_straight_to_local_and_notes_it_once_per_turn():
    trace = TurnTrace(2, eos_ns=0)
    cloud = ScriptedLLMDouble("cloud", ["x"], error=ConnectionError("refused"))
    local = ScriptedLLMDouble("local", ["local"])
    llm = FailoverLLM(cloud, local, _failover())
    list(llm.stream_reply([], threading.Event()))  # fails, opens
    list(llm.stream_reply([], threading.Event()))
    list(llm.stream_reply([], threading.Event()))
    assert cloud.calls == 1 and local.calls == 3
    assert [f["reason"] for f in trace.failovers] == [
        "error: ConnectionError: refused",
        "circuit open",
    ]


def test_half_open_probe_closes_the_breaker_when_the_cloud_is_back():
    now = [0.0]
    cloud = ScriptedLLMDouble("cloud", ["x"], error=ConnectionError("down"))
    local = ScriptedLLMDouble("local", ["local"])
    failover = _failover(clock=lambda: now[0])
    llm = FailoverLLM(cloud, local, failover)
    list(llm.stream_reply([], threading.Event()))
    assert failover.breaker.state is BreakerState.OPEN
    cloud.error = None
    now[0] = 31.0
    assert list(llm.stream_reply([], threading.Event())) == ["x"]
    assert failover.breaker.state is BreakerState.CLOSED


def test_a_stall_mid_stream_keeps_what_was_said_and_the_turn_then_stays_local():
    cloud = ScriptedLLMDouble("cloud", ["One, ", "two."], gap_s=2.0)
    local = ScriptedLLMDouble("local", ["local"])
    failover = _failover(stall_s=0.2, failures_to_open=5)
    llm = FailoverLLM(cloud, local, failover)
    turn = threading.Event()
    assert list(llm.stream_reply([], turn)) == ["One, "]
    assert failover.breaker.state is BreakerState.CLOSED  # 1 of 5 failures
    assert list(llm.stream_reply([], turn)) == ["local"]  # same turn: local, no new try
    assert cloud.calls == 1


def test_a_cancelled_turn_is_no_failure():
    cloud = ScriptedLLMDouble("cloud", ["late"], delay_s=1.0)
    local = ScriptedLLMDouble("local", ["local"])
    failover = _failover(first_s=5.0)
    llm = FailoverLLM(cloud, local, failover)
    turn = threading.Event()
    threading.Timer(0.1, turn.set).start()
    assert list(llm.stream_reply([], turn)) == []
    assert failover.breaker.state is BreakerState.CLOSED and local.calls == 0


def test_keys_never_reach_the_trace():
    remember("sk-secret-in-an-error-0001")
    trace = TurnTrace(3, eos_ns=0)
    cloud = ScriptedLLMDouble("cloud", [], error=RuntimeError("bad key sk-secret-in-an-error-0001"))
    llm = FailoverLLM(cloud, ScriptedLLMDouble("local", ["ok"]), _failover())
    list(llm.stream_reply([], threading.Event()))
    assert "sk-secret" not in str(trace.to_dict())
    assert "[redacted]" in trace.failovers[0]["reason"]


def test_the_llm_wrapper_scores_end_of_turn_with_the_local_model():
    llm = FailoverLLM(ScriptedLLMDouble("c", []), ScriptedLLMDouble("l", []), _failover())
    assert llm.end_of_turn_probability([], "hi") == 0.75


class TTSDouble:
    """A test double TTS at a fixed rate."""

    def __init__(self, name, sample_rate):
        self.name, self.sample_rate = name, sample_rate

    def synthesize(self, text, cancel):
        yield np.zeros(10, dtype=np.int16)


class STTDouble:
    """A test double STT: says `text` after `delay_s`."""

    def __init__(self, name, text, delay_s=0.0):
        self.name, self.text, self.delay_s = name, text, delay_s

    def transcribe(self, pcm):
        time.sleep(self.delay_s)
        return self.text


def test_tts_wrapper_needs_one_sample_rate():
    with pytest.raises(ValueError, match="Hz"):
        FailoverTTS(TTSDouble("c", 24000), TTSDouble("l", 22050), _failover())


def test_stt_wrapper_falls_back_and_returns_the_local_transcript():
    stt = FailoverSTT(STTDouble("c", "cloud", 2.0), STTDouble("l", "local"), _failover())
    assert stt.transcribe(np.zeros(160, dtype=np.int16)) == "local"
    stt = FailoverSTT(STTDouble("c", "cloud"), STTDouble("l", "local"), _failover())
    assert stt.transcribe(np.zeros(160, dtype=np.int16)) == "cloud"
