"""RTP packets (RFC 3550): bytes in, a typed packet out, and back.

Written by hand: the only RTP code in the venv is aiortc's, which is bound to its SRTP/WebRTC
stack; a phone leg needs the 12-byte header and nothing else. Parsing never trusts a length
field: anything that does not fit raises `RtpError`, which the socket counts and drops.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTP_VERSION = 2
HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC


class RtpError(ValueError):
    """Bytes that are not a usable RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False


def parse_rtp(data: bytes) -> RtpPacket:
    """One datagram -> `RtpPacket` (CSRCs, header extension and padding skipped)."""
    if len(data) < HEADER.size:
        raise RtpError(f"{len(data)} bytes is shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, expected 2")
    offset = HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if len(data) < offset + 4:
            raise RtpError("truncated header extension")
        (words,) = struct.unpack_from("!H", data, offset + 2)
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte says how many bytes to drop
        if end == 0 or data[-1] == 0:
            raise RtpError("bad padding")
        end -= data[-1]
    if offset > end:
        raise RtpError("header longer than the packet")
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(data[offset:end]),
        marker=bool(second & 0x80),
    )


def build_rtp(packet: RtpPacket) -> bytes:
    """`RtpPacket` -> bytes (no CSRC, extension or padding)."""
    second = (0x80 if packet.marker else 0) | (packet.payload_type & 0x7F)
    header = HEADER.pack(
        RTP_VERSION << 6,
        second,
        packet.sequence & 0xFFFF,
        packet.timestamp & 0xFFFFFFFF,
        packet.ssrc & 0xFFFFFFFF,
    )
    return header + packet.payload


def seq_delta(newer: int, older: int) -> int:
    """`newer - older` on the 16-bit sequence circle, in -32768..32767."""
    return ((newer - older + 0x8000) & 0xFFFF) - 0x8000
