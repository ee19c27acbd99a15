"""RTP packets, the jitter buffer and RFC 4733 digits, without sockets or sleeping."""

from __future__ import annotations

import struct

import pytest

from telephony.rtp.dtmf import DtmfReceiver, parse_event
from telephony.rtp.jitter import JitterBuffer
from telephony.rtp.packet import RtpError, RtpPacket, build_rtp, parse_rtp, seq_delta


def packet(seq: int, payload: bytes = b"\xff" * 160) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, seq * 160, 1234, payload)


def test_a_packet_survives_the_wire() -> None:
    sent = RtpPacket(8, 65535, 2**32 - 1, 99, b"abc", marker=True)
    assert parse_rtp(build_rtp(sent)) == sent


def test_csrcs_extension_and_padding_are_skipped() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 2, 0, 7, 160, 5)
    csrcs = struct.pack("!II", 1, 2)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\0\0\0\0"
    data = header + csrcs + extension + b"payload" + b"\0\0\3"
    assert parse_rtp(data).payload == b"payload"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80" * 11, b"\x40" + b"\0" * 11, b"\x8f" + b"\0" * 11, b"\xa0" + b"\0" * 11],
)
def test_what_is_not_rtp_is_refused(data: bytes) -> None:
    with pytest.raises(RtpError):
        parse_rtp(data)


def test_sequence_arithmetic_wraps() -> None:
    assert seq_delta(2, 65534) == 4
    assert seq_delta(65534, 2) == -4


def test_in_order_packets_leave_at_once_across_the_wrap() -> None:
    buffer = JitterBuffer(depth=3)
    out = [p.sequence for seq in range(65533, 65540) for p in buffer.push(packet(seq)).payloads]
    assert out == [65533, 65534, 65535, 0, 1, 2, 3]


def test_a_reordered_packet_is_put_back_in_place() -> None:
    buffer = JitterBuffer(depth=3)
    assert [p.sequence for p in buffer.push(packet(10)).payloads] == [10]
    assert buffer.push(packet(12)).payloads == []
    assert [p.sequence for p in buffer.push(packet(11)).payloads] == [11, 12]


def test_a_lost_packet_is_given_up_after_depth_packets() -> None:
    buffer = JitterBuffer(depth=2)
    buffer.push(packet(1))
    assert buffer.push(packet(3)).payloads == []
    released = buffer.push(packet(4))
    assert released.lost == 1 and [p.sequence for p in released.payloads] == [3, 4]


def test_late_and_duplicate_packets_are_dropped() -> None:
    buffer = JitterBuffer(depth=3)
    buffer.push(packet(5))
    buffer.push(packet(6))
    assert buffer.push(packet(5)).payloads == [] and buffer.push(packet(4)).payloads == []
    assert buffer.late == 2


def event(code: int, end: bool = False, duration: int = 160) -> bytes:
    return struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)


def test_a_key_press_is_one_digit_however_many_packets_carry_it() -> None:
    receiver = DtmfReceiver()
    digits = [receiver.push(1000, event(5, duration=d)) for d in (160, 320, 480)]
    digits += [receiver.push(1000, event(5, end=True)) for _ in range(3)]
    digits += [receiver.push(2000, event(11)), receiver.push(3000, event(10))]
    assert [d for d in digits if d] == ["5", "#", "*"]


def test_malformed_events_are_ignored() -> None:
    receiver = DtmfReceiver()
    assert receiver.push(1, b"\x01") is None
    assert receiver.push(2, event(200)) is None  # not a DTMF event code
    assert parse_event(event(3, end=True)).end
