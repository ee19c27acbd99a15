"""The receive jitter buffer: RTP packets in any order in, payloads in sequence order out.

Sans-IO. In-order packets leave at once (a loopback or LAN call pays no buffering delay); a
packet after a gap waits until `depth` packets are held, then the gap is given up as lost and
reported as a count of missing packets, so the reader can fill it with silence. Late and
duplicate packets are dropped. This is deliberately simpler than a playout-clock buffer: the
session stamps frames on arrival, and the transport fills silent stretches itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.rtp.packet import RtpPacket, seq_delta

MAX_JUMP = 3_000  # a sequence jump this large is a new stream (restart), not loss


@dataclass
class Released:
    """What one push frees: `lost` missing packets, then these payloads in order."""

    payloads: list[RtpPacket] = field(default_factory=list)
    lost: int = 0


class JitterBuffer:
    def __init__(self, depth: int = 3) -> None:
        self.depth = max(1, depth)
        self._next: int | None = None  # the sequence number due next
        self._held: dict[int, RtpPacket] = {}
        self.late = 0  # packets dropped as late or duplicate
        self.lost = 0

    def push(self, packet: RtpPacket) -> Released:
        released = Released()
        if self._next is None or abs(seq_delta(packet.sequence, self._next)) > MAX_JUMP:
            self._next = packet.sequence
            self._held.clear()
        ahead = seq_delta(packet.sequence, self._next)
        if ahead < 0 or packet.sequence in self._held:
            self.late += 1
            return released
        self._held[packet.sequence] = packet
        self._drain(released)
        while len(self._held) >= self.depth:  # the gap has waited long enough: give it up
            first = min(self._held, key=lambda seq: seq_delta(seq, self._next or 0))
            released.lost += seq_delta(first, self._next)
            self.lost += released.lost
            self._next = first
            self._drain(released)
        return released

    def _drain(self, released: Released) -> None:
        assert self._next is not None
        while self._next in self._held:
            released.payloads.append(self._held.pop(self._next))
            self._next = (self._next + 1) & 0xFFFF
