"""The failover bridge wired into a session, with test doubles for the models (fast).

A cloud LLM double that never answers sits in the real failover wrapper in front of the
session tests' LLM double; the bridge is a recognizable tone. The real models, the real SDK
and the emulator are in tests/cloud/test_bridge.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence

import numpy as np

from tests.test_session import FixedLLMDouble, doubles, speech
from voice.agent.session import VoiceSession
from voice.audio import SAMPLE_RATE, split_frames
from voice.bargein.controller import Playout
from voice.config import Config
from voice.pipeline.turn_scope import TurnScope
from voice.providers.base import DialogueTurn
from voice.providers.circuit_breaker import CircuitBreaker
from voice.providers.failover import Failover, FailoverLLM
from voice.providers.registry import Models
from voice.trace.turn_trace import TurnTrace
from voice.transports.loopback import LoopbackTransport

BRIDGE = (1234 * np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE // 5) / SAMPLE_RATE)).astype(
    np.int16
)


class StalledCloudLLMDouble:
    """A cloud LLM that accepts the call and never answers (until its stop flag is set)."""

    name = "stalled-cloud-double"

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        return None

    def stream_reply(self, history: Sequence[DialogueTurn], stop: threading.Event) -> Iterator[str]:
        stop.wait(5)
        yield from ()


def models_with(cloud: object, breaker: CircuitBreaker | None = None) -> Models:
    models = doubles()
    failover = Failover("llm", "cloud", "llm-double", 0.3, 1.0, breaker or CircuitBreaker())
    models.llm = FailoverLLM(cloud, FixedLLMDouble(), failover)  # type: ignore[arg-type]
    models.bridge_pcm = BRIDGE
    return models


def one_turn(models: Models, config: Config | None = None):
    async def main():
        transport = LoopbackTransport(speech(0.2, 0.6, 0.0), quiet_after_output_ms=1500)
        session = VoiceSession(transport, models, config or Config())
        result = await asyncio.wait_for(session.run(), 15)
        return result, transport, session

    result, transport, session = asyncio.run(main())
    (trace,) = [t for t in result.turns if t.outcome == "answered"]
    return trace, transport, session


def test_a_stalled_cloud_llm_is_bridged_then_the_reply_follows_in_order():
    trace, transport, session = one_turn(models_with(StalledCloudLLMDouble()))
    (note,) = trace.failovers
    assert note["reason"] == "no first output within 300 ms" and note["bridge"] is True
    bridge = list(split_frames(BRIDGE))
    assert trace.bridge_ns == transport.output[0][0]
    for (_, sent), frame in zip(transport.output, bridge, strict=False):
        assert np.array_equal(sent, frame)
    # TTFA is the reply's first frame, the one after the bridge.
    assert transport.output[len(bridge)][0] == trace.first_audio_ns
    assert trace.bridge_ns < trace.first_audio_ns
    assert trace.reply == "Hi there, nice to meet you."
    assert [turn.text for turn in session.history] == ["hello there", trace.reply]


def test_no_bridge_when_the_cloud_answers():
    trace, transport, _ = one_turn(models_with(FixedLLMDouble()))
    assert not trace.failovers and trace.bridge_ns is None
    assert transport.output[0][0] == trace.first_audio_ns


def test_no_bridge_when_the_breaker_is_open():
    breaker = CircuitBreaker()
    breaker.failure(0.0)
    models = models_with(StalledCloudLLMDouble(), breaker)
    models.llm.failover.clock = lambda: 1.0  # type: ignore[attr-defined]
    trace, transport, _ = one_turn(models)
    assert [f["reason"] for f in trace.failovers] == ["circuit open"]
    assert trace.bridge_ns is None and transport.output[0][0] == trace.first_audio_ns


def test_no_bridge_when_switched_off():
    config = Config()
    config.failover.bridge = False
    trace, transport, _ = one_turn(models_with(StalledCloudLLMDouble()), config)
    assert trace.failovers and trace.bridge_ns is None
    assert transport.output[0][0] == trace.first_audio_ns


class _OwnerDouble:
    """What a `Playout` needs of the barge-in controller: a transport and a speaking hook."""

    next_reply_interruptible = True

    def __init__(self) -> None:
        self.transport = self

    def speaking(self, playout: Playout) -> None:
        return None

    async def send_audio(self, pcm: np.ndarray) -> int:
        return 0


def test_bridge_samples_do_not_count_as_the_replys_heard_position():
    async def main() -> Playout:
        out = Playout(_OwnerDouble(), TurnScope(1), TurnTrace(1, eos_ns=0))  # type: ignore[arg-type]
        for frame in split_frames(BRIDGE):
            await out.send(frame, filler=True)
        await out.send(np.zeros(320, dtype=np.int16))
        return out

    out = asyncio.run(main())
    assert out.played_samples == 320
    assert out.filler_samples == len(list(split_frames(BRIDGE))) * 320
