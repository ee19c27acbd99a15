"""The emulators' network delay, and the bench table that reads it back out."""

from __future__ import annotations

import threading
import time

import pytest

from bench.cloud_split import split_table
from tests.cloud.conftest import KEY
from tests.cloud.emulators import AnthropicEmulator, EmulatorServer, NetworkDelay
from voice.config import AnthropicConfig
from voice.providers.base import DialogueTurn
from voice.providers.cloud.anthropic_llm import AnthropicLLM

pytestmark = pytest.mark.timeout(30)


def _first_piece_s(rtt_ms: float) -> float:
    emulator = AnthropicEmulator(key=KEY, delay=NetworkDelay(rtt_ms=rtt_ms))
    with EmulatorServer(emulator) as server:
        llm = AnthropicLLM(KEY, AnthropicConfig(base_url=server.base_url))
        list(llm.stream_reply([DialogueTurn("user", "warm")], threading.Event()))
        started = time.monotonic()
        next(iter(llm.stream_reply([DialogueTurn("user", "Hi")], threading.Event())))
        return time.monotonic() - started


def test_a_round_trip_delays_the_first_byte_by_the_rtt():
    assert _first_piece_s(150) - _first_piece_s(0) >= 0.14


def test_split_table_reads_the_network_share_off_the_baseline():
    def results(stt, ttft, ttfb):
        return {
            "ttfa_ms": {"p50": 400 + stt + ttft + ttfb},
            # the shape `voice bench` writes: each stage's p50 and p95
            "stages_ms": {
                name: {"p50": ms, "p95": ms}
                for name, ms in {"stt": stt, "llm.ttft": ttft, "tts.ttfb": ttfb}.items()
            }
            | {"endpoint": {"p50": 200, "p95": 200}},
        }

    table = split_table([("0 ms", results(10, 5, 5)), ("60 ms", results(250, 70, 65))])
    rows = table.splitlines()
    assert rows[2].startswith("| 0 ms | 420 |") and rows[2].endswith("| 0 |")
    assert rows[3].endswith("| 365 |")
