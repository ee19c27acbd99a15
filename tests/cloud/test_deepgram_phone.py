"""A phone call on Deepgram: the carrier's µ-law reaches the stream as it came, end to end.

A media-stream call (the carrier's `media` events fed to the real transport at the phone's
pace) into a real session whose STT is the real Deepgram client, streaming to the emulator,
with the local STT behind it as in production. The VAD, LLM and TTS are the session tests'
doubles (tests/test_session.py): the point is the caller's audio path, not the models.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from telephony.g711 import encode
from telephony.media_streams import protocol
from telephony.media_streams.transport import MediaStreamTransport
from tests.cloud.conftest import KEY
from tests.test_session import doubles
from voice.agent.session import SessionResult, VoiceSession
from voice.config import Config, DeepgramConfig
from voice.providers.circuit_breaker import CircuitBreaker
from voice.providers.cloud.deepgram_stt import DeepgramSTT
from voice.providers.failover import Failover, FailoverSTT

pytestmark = pytest.mark.timeout(30)
PAYLOAD = 160  # 20 ms of G.711 at 8 kHz, as a carrier sends it


def _payloads(silence_s: float, voiced_s: float) -> list[bytes]:
    t = np.arange(round(voiced_s * 8000)) / 8000
    tone = (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    audio = encode(np.concatenate([np.zeros(round(silence_s * 8000), np.int16), tone]))
    return [audio[i : i + PAYLOAD] for i in range(0, len(audio), PAYLOAD)]


async def _call(
    transport: MediaStreamTransport, session: VoiceSession
) -> tuple[SessionResult, int]:
    """The carrier's side: the question, then silence until the turn is over, then `stop`.
    Returns the session's result and how many payloads were sent."""
    running = asyncio.create_task(session.run())
    question = _payloads(0.3, 0.8)
    silent = encode(np.zeros(PAYLOAD, np.int16))
    started, sent = time.monotonic(), 0
    while sent < len(question) or not session.result.turns:
        assert time.monotonic() - started < 15, "the turn never finished"
        await asyncio.sleep(max(0.0, started + sent * 0.02 - time.monotonic()))
        transport.feed(protocol.Media(question[sent] if sent < len(question) else silent, None))
        sent += 1
    transport.feed(protocol.Stop())
    return await asyncio.wait_for(running, 10), sent


def test_a_phone_call_streams_the_callers_mulaw_to_deepgram_as_is(deepgram) -> None:
    deepgram.emulator.transcript = "Book me a table."
    models = doubles()
    cloud = DeepgramSTT(KEY, DeepgramConfig(base_url=deepgram.base_url, endpointing_ms=300))
    local = models.stt
    failover = Failover("stt", cloud.name, local.name, 2.0, 2.0, CircuitBreaker())
    models.stt = FailoverSTT(cloud, local, failover)

    async def discard(text: str) -> None:  # the bot's audio to the carrier: not the point here
        return None

    async def main() -> tuple[SessionResult, int]:
        transport = MediaStreamTransport("MZ1", discard)
        return await _call(transport, VoiceSession(transport, models, Config()))

    result, sent = asyncio.run(main())

    (turn,) = [t for t in result.turns if t.outcome == "answered"]
    assert turn.transcript == "Book me a table."  # Deepgram's words, not the local STT's
    assert not turn.failovers
    (stream,) = [r for r in deepgram.emulator.requests if "endpointing" in r["query"]]
    assert (stream["encoding"], stream["sample_rate"]) == ("mulaw", 8000)
    # Every payload, as is: 8000 bytes a second of call (linear16 would have been 32000).
    assert stream["audio_bytes"] == sent * PAYLOAD
