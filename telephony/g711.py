"""G.711 µ-law and A-law, the phone's 8 kHz audio, to and from the pipeline's 16 kHz PCM.

The codec is the standard library's `audioop` (deprecated in 3.11-3.12, where it still ships;
PyPI's `audioop-lts` provides the same module from 3.13). The rate change is `wire_rate`'s
unbuffered 2:1 polyphase filter, so a phone call pays no resampler block in either direction.
SIP/RTP and the media-stream WebSocket both speak it.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np

from voice.transports.input_clock import WireFormat
from voice.transports.wire_rate import Downsampler, Upsampler

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

PHONE_RATE = 8_000
Law = Literal["ulaw", "alaw"]
ENCODING_NAMES: dict[Law, str] = {"ulaw": "mulaw", "alaw": "alaw"}  # as Deepgram names them


def decode(payload: bytes, law: Law = "ulaw") -> np.ndarray:
    """G.711 bytes (one sample per byte) -> 8 kHz int16 PCM."""
    linear = audioop.ulaw2lin(payload, 2) if law == "ulaw" else audioop.alaw2lin(payload, 2)
    return np.frombuffer(linear, dtype="<i2").astype(np.int16)


def encode(pcm8k: np.ndarray, law: Law = "ulaw") -> bytes:
    """8 kHz int16 PCM -> G.711 bytes."""
    raw = np.asarray(pcm8k, dtype="<i2").tobytes()
    return audioop.lin2ulaw(raw, 2) if law == "ulaw" else audioop.lin2alaw(raw, 2)


def wire_format(law: Law) -> WireFormat:
    """A call's G.711 as its input frames carry it along (`AudioFrame.wire`), for a cloud
    STT that takes the caller's bytes as is."""
    return WireFormat(ENCODING_NAMES[law], PHONE_RATE, encode(np.zeros(1, np.int16), law))


class PhoneDecoder:
    """A call's incoming G.711 -> 16 kHz PCM for the pipeline, chunk by chunk, with no delay."""

    def __init__(self, law: Law = "ulaw") -> None:
        self.law: Law = law
        self._upsampler = Upsampler(from_rate=PHONE_RATE, to_rate=16_000)

    def push(self, payload: bytes) -> np.ndarray:
        return self._upsampler.push(decode(payload, self.law))


class PhoneEncoder:
    """The bot's 16 kHz PCM -> G.711 for the call, chunk by chunk, with no delay."""

    def __init__(self, law: Law = "ulaw") -> None:
        self.law: Law = law
        self._downsampler = Downsampler(to_rate=PHONE_RATE, from_rate=16_000)

    def push(self, pcm16k: np.ndarray) -> bytes:
        return encode(self._downsampler.push(pcm16k), self.law)

    def reset(self) -> None:
        """Forget the filter's tail (after a barge-in the cut reply's tail is not sent)."""
        self._downsampler = Downsampler(to_rate=PHONE_RATE, from_rate=16_000)
