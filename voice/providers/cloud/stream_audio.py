"""What a call's Deepgram stream sends: the caller's audio, in one format for the stream's life.

Deepgram is told the audio's encoding and rate when a socket opens. A call's input frames are
the pipeline's 16 kHz PCM, and on a phone call (SIP/RTP, media streams) each also carries the
8 kHz G.711 bytes it was decoded from (`AudioFrame.wire`). The stream sends those bytes as
they came, `mulaw` or `alaw` at 8000 Hz: a quarter of linear16's bandwidth (64 against 256
kbit/s), and exactly the caller's audio rather than our decode of it. Other calls send 16 kHz
`linear16`. The call's first frame decides, and the stream keeps that format, reconnections
included. A later frame that lacks the chosen wire bytes (the phone transports always give
them, silence fills included) is converted, 2:1 down and G.711-encoded, so the socket never
sees two formats.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.pipeline.frames import WireAudio
from voice.transports.wire_rate import Downsampler

with warnings.catch_warnings():  # deprecated in 3.11-3.12, still shipped (telephony/g711.py)
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

_G711 = {"mulaw": audioop.lin2ulaw, "alaw": audioop.lin2alaw}  # the wire encodings we can make


@dataclass(frozen=True)
class StreamFormat:
    """The audio format of a stream's sockets, as Deepgram's query parameters name it."""

    encoding: str
    sample_rate: int
    bytes_per_sample: int


LINEAR16 = StreamFormat("linear16", SAMPLE_RATE, 2)


@dataclass(frozen=True)
class StreamAudio:
    """One frame as the stream sends it; `samples` at the format's rate (its duration)."""

    data: bytes
    media_ns: int
    samples: int


class StreamEncoder:
    """A call's frames -> bytes in the format its first frame chose."""

    def __init__(self, first: WireAudio | None) -> None:
        self.format = LINEAR16
        if first is not None and first.encoding in _G711 and SAMPLE_RATE % first.sample_rate == 0:
            self.format = StreamFormat(first.encoding, first.sample_rate, 1)
        self._downsampler: Downsampler | None = None  # only for frames that lack the wire

    def encode(self, pcm: np.ndarray, media_ns: int, wire: WireAudio | None) -> StreamAudio:
        fmt = self.format
        if fmt is LINEAR16:
            data = np.asarray(pcm, dtype="<i2").tobytes()
        elif wire is not None and (wire.encoding, wire.sample_rate) == (
            fmt.encoding,
            fmt.sample_rate,
        ):
            data = wire.data
        else:
            data = self._convert(pcm)
        return StreamAudio(data, media_ns, len(data) // fmt.bytes_per_sample)

    def _convert(self, pcm: np.ndarray) -> bytes:
        if self._downsampler is None:
            self._downsampler = Downsampler(from_rate=SAMPLE_RATE, to_rate=self.format.sample_rate)
        low = self._downsampler.push(np.asarray(pcm, dtype=np.int16))
        return bytes(_G711[self.format.encoding](np.asarray(low, dtype="<i2").tobytes(), 2))
