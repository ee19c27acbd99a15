"""RTCP receiver reports (RFC 3550 section 6.4.2): what the agent received of the caller's RTP.

Sans-IO: `ReceptionStats` takes each RTP packet with its arrival time and keeps the counts the
RFC's appendix A.1 and A.8 define (extended highest sequence, loss, interarrival jitter);
`receiver_report()` turns them into the 32-byte RR a trunk's monitoring reads. The agent sends
no sender reports (it sends no RTP while silent), so LSR/DLSR are 0.
"""

from __future__ import annotations

import struct

from telephony.rtp.packet import seq_delta

RR = 201


class ReceptionStats:
    def __init__(self, clock_rate: int = 8_000) -> None:
        self.clock_rate = clock_rate
        self._reset(None)

    def _reset(self, ssrc: int | None) -> None:
        self.source_ssrc = ssrc
        self.received = 0
        self._base: int | None = None  # first sequence number, extended
        self._max = 0  # highest sequence number seen, extended (cycles * 65536 + seq)
        self._transit: int | None = None
        self.jitter = 0.0  # in timestamp units
        self._expected_prior = 0
        self._received_prior = 0

    def on_packet(self, ssrc: int, sequence: int, timestamp: int, arrival_ns: int) -> None:
        if ssrc != self.source_ssrc:  # a new source: start over
            self._reset(ssrc)
        self.received += 1
        if self._base is None:
            self._base = self._max = sequence
        else:
            ahead = seq_delta(sequence, self._max & 0xFFFF)
            if ahead > 0:
                self._max += ahead
        arrival = arrival_ns * self.clock_rate // 1_000_000_000
        transit = arrival - timestamp
        if self._transit is not None:
            self.jitter += (abs(transit - self._transit) - self.jitter) / 16
        self._transit = transit

    @property
    def expected(self) -> int:
        return 0 if self._base is None else self._max - self._base + 1

    @property
    def lost(self) -> int:
        return self.expected - self.received

    def receiver_report(self, own_ssrc: int) -> bytes:
        """One RR packet (a single report block, or none before any RTP) for this interval."""
        if self.source_ssrc is None:
            return struct.pack("!BBHI", 0x80, RR, 1, own_ssrc)
        expected_interval = self.expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior, self._received_prior = self.expected, self.received
        lost_interval = expected_interval - received_interval
        fraction = (
            0
            if expected_interval <= 0 or lost_interval <= 0
            else ((lost_interval << 8) // expected_interval)
        )
        cumulative = max(-0x800000, min(0x7FFFFF, self.lost)) & 0xFFFFFF
        return struct.pack(
            "!BBHIIIIIII",
            0x81,  # V=2, one report block
            RR,
            7,  # length in 32-bit words, less one
            own_ssrc,
            self.source_ssrc,
            (min(fraction, 255) << 24) | cumulative,
            self._max & 0xFFFFFFFF,
            int(self.jitter) & 0xFFFFFFFF,
            0,  # LSR: no sender report received
            0,  # DLSR
        )
