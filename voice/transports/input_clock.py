"""Caller audio from a network wire, cut into 20 ms pipeline frames stamped with media time.

Every network transport (WebRTC, SIP/RTP, media-stream WebSockets) receives the caller's audio
in packets of its own size, already converted to 16 kHz. This re-frames it into 20 ms frames
whose media time runs on a sample clock anchored at the first packet's arrival on
`time.monotonic_ns()` and re-anchored after a gap, so the session's latency arithmetic is the
same on every transport as on the loopback: a frame's last sample was captured about when its
packet arrived, and no frame is ever stamped in the future.
"""

from __future__ import annotations

import numpy as np

from voice.audio import FRAME_NS, FRAME_SAMPLES
from voice.pipeline.frames import AudioFrame

MAX_CLOCK_LAG_NS = 100_000_000  # input arriving this much later than its clock: a gap


class InputClock:
    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.int16)
        self._clock_ns: int | None = None

    def push(self, pcm16k: np.ndarray, arrived_ns: int) -> list[AudioFrame]:
        """One packet's 16 kHz audio, received at `arrived_ns`; the whole frames it completes."""
        self._pending = np.concatenate([self._pending, np.asarray(pcm16k, dtype=np.int16)])
        frames = []
        while len(self._pending) >= FRAME_SAMPLES:
            chunk, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
            clock = self._clock_ns
            if clock is None or arrived_ns - (clock + FRAME_NS) > MAX_CLOCK_LAG_NS:
                clock = arrived_ns - FRAME_NS
            elif clock + FRAME_NS > arrived_ns:  # never stamp a frame in the future
                clock = arrived_ns - FRAME_NS
            frames.append(AudioFrame(chunk, clock))
            self._clock_ns = clock + FRAME_NS
        return frames

    @property
    def next_due_ns(self) -> int | None:
        """When the next frame's last sample is due (None before the first packet)."""
        return None if self._clock_ns is None else self._clock_ns + FRAME_NS

    def silence(self) -> AudioFrame | None:
        """A silent frame where the next one was due (nothing came: the caller is silent), so
        the session's VAD keeps seeing time go by; None before the first packet."""
        if self._clock_ns is None:
            return None
        frame = AudioFrame(np.zeros(FRAME_SAMPLES, dtype=np.int16), self._clock_ns)
        self._clock_ns += FRAME_NS
        return frame
