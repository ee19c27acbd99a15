"""Caller audio from a network wire, cut into 20 ms pipeline frames stamped with media time.

Every network transport (WebRTC, SIP/RTP, media-stream WebSockets) receives the caller's audio
in packets of its own size, already converted to 16 kHz. This re-frames it into 20 ms frames
whose media time runs on a sample clock anchored at the first packet's arrival on
`time.monotonic_ns()` and re-anchored after a gap, so the session's latency arithmetic is the
same on every transport as on the loopback: a frame's last sample was captured about when its
packet arrived, and no frame is ever stamped in the future.

A phone transport also hands over the packets' G.711 bytes (`WireFormat`): they are cut in
step with the PCM, so each frame carries its own 20 ms of them (`AudioFrame.wire`) for a
cloud STT that takes the caller's audio as is. Silence this side makes up (a fill when
nothing came, audio pushed without its bytes) gets the wire's encoding of silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voice.audio import FRAME_NS, FRAME_SAMPLES, SAMPLE_RATE
from voice.pipeline.frames import AudioFrame, WireAudio

MAX_CLOCK_LAG_NS = 100_000_000  # input arriving this much later than its clock: a gap


@dataclass(frozen=True)
class WireFormat:
    """How a transport's caller audio came over the wire (one byte per sample: G.711)."""

    encoding: str  # in Deepgram's names: "mulaw" or "alaw"
    sample_rate: int
    silence: bytes  # one sample of silence in this encoding (the transport's codec knows it)

    @property
    def frame_bytes(self) -> int:
        """The wire bytes of one 20 ms pipeline frame (160 at 8 kHz)."""
        return FRAME_SAMPLES * self.sample_rate // SAMPLE_RATE * len(self.silence)

    def silent(self, pcm_samples: int) -> bytes:
        """Silence as long as `pcm_samples` of 16 kHz audio."""
        return self.silence * round(pcm_samples * self.sample_rate / SAMPLE_RATE)


class InputClock:
    def __init__(self, wire: WireFormat | None = None) -> None:
        self._pending = np.zeros(0, dtype=np.int16)
        self._clock_ns: int | None = None
        self._wire = wire
        self._pending_wire = bytearray()  # the wire bytes of `_pending`, in step with it

    def push(
        self, pcm16k: np.ndarray, arrived_ns: int, wire: bytes | None = None
    ) -> list[AudioFrame]:
        """One packet's 16 kHz audio (and, on a wire clock, the bytes it was decoded from),
        received at `arrived_ns`; the whole frames it completes."""
        pcm16k = np.asarray(pcm16k, dtype=np.int16)
        self._pending = np.concatenate([self._pending, pcm16k])
        if self._wire is not None:
            self._pending_wire += self._wire.silent(len(pcm16k)) if wire is None else wire
        frames = []
        while len(self._pending) >= FRAME_SAMPLES:
            chunk, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
            clock = self._clock_ns
            if clock is None or arrived_ns - (clock + FRAME_NS) > MAX_CLOCK_LAG_NS:
                clock = arrived_ns - FRAME_NS
            elif clock + FRAME_NS > arrived_ns:  # never stamp a frame in the future
                clock = arrived_ns - FRAME_NS
            frames.append(AudioFrame(chunk, clock, wire=self._take_wire()))
            self._clock_ns = clock + FRAME_NS
        return frames

    def _take_wire(self) -> WireAudio | None:
        """The next frame's wire bytes, padded with silence should the packets have carried
        fewer than their PCM (they do not: the transports decode without delay)."""
        if self._wire is None:
            return None
        size = self._wire.frame_bytes
        data = bytes(self._pending_wire[:size])
        del self._pending_wire[:size]
        if len(data) < size:
            data += self._wire.silence * ((size - len(data)) // len(self._wire.silence))
        return WireAudio(self._wire.encoding, self._wire.sample_rate, data)

    @property
    def next_due_ns(self) -> int | None:
        """When the next frame's last sample is due (None before the first packet)."""
        return None if self._clock_ns is None else self._clock_ns + FRAME_NS

    def silence(self) -> AudioFrame | None:
        """A silent frame where the next one was due (nothing came: the caller is silent), so
        the session's VAD keeps seeing time go by; None before the first packet."""
        if self._clock_ns is None:
            return None
        wire = None
        if self._wire is not None:
            wire = WireAudio(
                self._wire.encoding, self._wire.sample_rate, self._wire.silent(FRAME_SAMPLES)
            )
        frame = AudioFrame(np.zeros(FRAME_SAMPLES, dtype=np.int16), self._clock_ns, wire=wire)
        self._clock_ns += FRAME_NS
        return frame
