"""Rate conversion between the wire's 48 kHz and the pipeline's 16 kHz, with no buffering.

Written by hand (with scipy's filter design and filtering) because soxr's streaming resampler,
which the project uses elsewhere, works in blocks: fed 20 ms frames it holds back 20-37 ms
(mean 21 ms) at its HQ setting and 10-20 ms at LQ, in each direction, and a call would pay
that twice on every turn. The rates differ by an integer factor of 3, so a polyphase FIR
does it exactly: a 96-tap Kaiser low-pass (flat to 6.5 kHz, -6 dB at 7.2 kHz, -29 dB at
8 kHz, -100 dB from 9 kHz) whose group delay is 1 ms, keeping its filter state across frames
so there are no seams between them.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

FACTOR = 3  # 48 kHz / 16 kHz
_TAPS = signal.firwin(96, 7_200, window=("kaiser", 8.0), fs=48_000)


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


class Downsampler:
    """48 kHz -> 16 kHz, one chunk at a time; every output sample is emitted at once."""

    def __init__(self) -> None:
        self._state = np.zeros(len(_TAPS) - 1)
        self._phase = 0  # index, in the next chunk, of the next sample to keep

    def push(self, pcm48k: np.ndarray) -> np.ndarray:
        filtered, self._state = signal.lfilter(
            _TAPS, 1.0, pcm48k.astype(np.float64), zi=self._state
        )
        kept = filtered[self._phase :: FACTOR]
        self._phase = (self._phase - len(pcm48k)) % FACTOR
        return _to_int16(kept)


class Upsampler:
    """16 kHz -> 48 kHz, one chunk at a time: zeros stuffed between samples, then the same
    low-pass (times 3, the energy the zeros took away)."""

    def __init__(self) -> None:
        self._state = np.zeros(len(_TAPS) - 1)

    def push(self, pcm16k: np.ndarray) -> np.ndarray:
        stuffed = np.zeros(len(pcm16k) * FACTOR)
        stuffed[::FACTOR] = pcm16k
        filtered, self._state = signal.lfilter(_TAPS * FACTOR, 1.0, stuffed, zi=self._state)
        return _to_int16(filtered)
