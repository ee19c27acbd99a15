"""RFC 4733 telephone-events: DTMF digits out of RTP, each reported once.

Sans-IO. A key press is sent as a run of packets sharing one RTP timestamp (the event's start),
the last three with the end bit set; a digit is reported on the first packet of a new
timestamp, so retransmitted end packets and the continuing updates never repeat it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

EVENT_DIGITS = "0123456789*#ABCD"  # event codes 0..15 (RFC 4733 section 3.2)


@dataclass(frozen=True)
class TelephoneEvent:
    code: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        return EVENT_DIGITS[self.code] if self.code < len(EVENT_DIGITS) else None


def parse_event(payload: bytes) -> TelephoneEvent:
    """The 4-byte event payload (raises `ValueError` for one that is too short)."""
    if len(payload) < 4:
        raise ValueError(f"a telephone-event payload is 4 bytes, got {len(payload)}")
    code, flags, duration = struct.unpack_from("!BBH", payload)
    return TelephoneEvent(code, bool(flags & 0x80), flags & 0x3F, duration)


class DtmfReceiver:
    def __init__(self) -> None:
        self._last_timestamp: int | None = None

    def push(self, timestamp: int, payload: bytes) -> str | None:
        """The digit this packet starts, or None (an update, a repeat, not a digit, malformed)."""
        try:
            event = parse_event(payload)
        except ValueError:
            return None
        if timestamp == self._last_timestamp:
            return None
        self._last_timestamp = timestamp
        return event.digit
