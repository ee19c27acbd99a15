"""Fuzzing: malformed SIP messages, SDP bodies and RTP packets never raise out of the parsers,
and a flood of them at the running endpoint leaves a call in progress unharmed.

The parsers get 10,000 fast examples each (Hypothesis, no sockets); the socket run sends a few
thousand datagrams while SIPp's call goes on, then checks that call end to end.
"""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path

import pytest
from aiosipua import SipMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.sipp import Scenario
from telephony.rtp.dtmf import DtmfReceiver
from telephony.rtp.jitter import JitterBuffer
from telephony.rtp.packet import RtpError, RtpPacket, build_rtp, parse_rtp
from telephony.rtp.transport import RtpTransport
from telephony.sip.media import NotAcceptable, answer_offer
from tests.telephony.conftest import sip_config, sip_endpoint
from tests.telephony.test_sipp_calls import call, question
from voice.providers.registry import Models

BATCH = 40  # inputs per Hypothesis example: 250 examples x 40 = 10,000 inputs per parser
FAST = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples in CI every time
)

INVITE = (
    b"INVITE sip:agent@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-1\r\n"
    b"From: <sip:caller@127.0.0.1>;tag=1\r\n"
    b"To: <sip:agent@127.0.0.1>\r\n"
    b"Call-ID: fuzz-1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:caller@127.0.0.1:5999>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 120\r\n\r\n"
)
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
)
RTP = build_rtp(RtpPacket(0, 1, 160, 7, b"\xff" * 160))


def mutate(template: bytes, rng: random.Random) -> bytes:
    """The template with a few slices replaced, dropped or repeated (near-misses, which reach
    deeper into a parser than noise), or now and then pure noise."""
    if rng.random() < 0.1:
        return rng.randbytes(rng.randrange(600))
    data = bytearray(template)
    for _ in range(rng.randint(1, 4)):
        start = rng.randrange(len(data) + 1)
        end = min(len(data), start + rng.randrange(41))
        kind = rng.randrange(3)
        if kind == 0:
            data[start:end] = rng.randbytes(rng.randrange(41))
        elif kind == 1:
            del data[start:end]
        else:
            data[start:end] = bytes(data[start:end]) * 3
    return bytes(data)


def batch(template: bytes) -> st.SearchStrategy[list[bytes]]:
    return st.randoms(use_true_random=False).map(
        lambda rng: [mutate(template, rng) for _ in range(BATCH)]
    )


@FAST
@given(batch(INVITE + SDP.encode()))
def test_sip_messages_parse_or_raise_value_error(messages: list[bytes]) -> None:
    for data in messages:
        try:
            SipMessage.parse(data)
        except ValueError:
            pass


@FAST
@given(batch(SDP.encode()))
def test_sdp_offers_are_answered_or_not_acceptable(bodies: list[bytes]) -> None:
    for data in bodies:
        try:
            answer_offer(data.decode("utf-8", "replace"), "127.0.0.1", 7000)
        except NotAcceptable:
            pass


@FAST
@given(batch(RTP))
def test_rtp_packets_parse_or_raise_rtp_error(packets: list[bytes]) -> None:
    for data in packets:
        try:
            parse_rtp(data)
        except RtpError:
            pass


@FAST
@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=8)), max_size=BATCH))
def test_the_jitter_buffer_and_dtmf_take_any_sequence(packets: list[tuple[int, bytes]]) -> None:
    buffer, digits = JitterBuffer(3), DtmfReceiver()
    for sequence, payload in packets:
        buffer.push(RtpPacket(0, sequence, sequence * 160, 1, payload))
        digits.push(sequence, payload)


@FAST
@given(batch(RTP))
def test_the_call_transport_takes_any_datagram(datagrams: list[bytes]) -> None:
    transport = RtpTransport(
        law="ulaw", payload_type=0, remote=("127.0.0.1", 9), dtmf_payload_type=101
    )
    for data in datagrams:
        transport.receive(data, ("127.0.0.1", 4000))


@pytest.mark.slow
def test_a_flood_of_malformed_datagrams_leaves_a_call_unharmed(
    models: Models, tmp_path: Path
) -> None:
    rng = random.Random(7)
    sip_garbage = [INVITE + SDP.encode()]
    for _ in range(1_500):
        data = bytearray(rng.choice(sip_garbage))
        start = rng.randrange(len(data))
        data[start : start + rng.randrange(40)] = rng.randbytes(rng.randrange(40))
        sip_garbage.append(bytes(data).replace(b"fuzz-1", f"fuzz-{rng.random()}".encode()))
    rtp_garbage = [rng.randbytes(rng.randrange(200)) for _ in range(1_000)]
    rtp_garbage += [build_rtp(RtpPacket(rng.choice([0, 8, 101, 13]), rng.randrange(65536), 0,
                                        rng.randrange(2**32), rng.randbytes(160)))
                    for _ in range(500)]  # fmt: skip

    async def main() -> None:
        async with sip_endpoint(sip_config(), models, slots=2) as endpoint:
            caller = asyncio.create_task(
                call(endpoint, Scenario(audio=question(tmp_path), talk_ms=9_000), tmp_path)
            )
            for _ in range(200):
                first = next(iter(endpoint.active.values()), None)
                if first is not None and first.rtp is not None and first.rtp.port:
                    break
                await asyncio.sleep(0.05)
            (victim,) = endpoint.active.values()
            assert victim.rtp is not None
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as attacker:
                for index, data in enumerate(sip_garbage):
                    attacker.sendto(data, (endpoint.host, endpoint.port))
                    if index < len(rtp_garbage):
                        attacker.sendto(rtp_garbage[index], ("127.0.0.1", victim.rtp.port))
                    if index % 50 == 0:
                        await asyncio.sleep(0.01)  # let the endpoint and the call breathe
            code, log, ear = await caller
            assert code == 0, log
            mine = [c for c in endpoint.ended if c.id == victim.id]
            assert mine and mine[0].ended_by == "caller"
            assert any("weather" in t.transcript.lower() for t in mine[0].turns)
            assert len(ear.packets) >= 25  # the answer came back
            # the flood reached the call's port (the kernel drops what overflows its buffer)
            assert victim.rtp.stats.bad_packets >= 200

    asyncio.run(main())
