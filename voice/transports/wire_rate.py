"""Rate conversion between a wire's rate and the pipeline's 16 kHz, with no buffering.

Written by hand (with scipy's filter design and filtering) because soxr's streaming resampler,
which the project uses elsewhere, works in blocks: fed 20 ms frames it holds back 20-37 ms
(mean 21 ms) at its HQ setting and 10-20 ms at LQ, in each direction, and a call would pay
that twice on every turn. The wires' rates differ from 16 kHz by an integer factor (WebRTC's
48 kHz by 3, the phone's 8 kHz by 2), so a polyphase FIR does it exactly: a Kaiser low-pass of
32 taps per phase, flat to 0.4 and -6 dB at 0.45 of the lower rate, far down past half of it
(for 48 kHz: 96 taps, flat to 6.5 kHz, -6 dB at 7.2 kHz, -29 dB at 8 kHz, -100 dB from 9 kHz,
1 ms of group delay; for 8 kHz: 64 taps, 2 ms), keeping its filter state across frames so
there are no seams between them.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal

PIPELINE_RATE = 16_000
TAPS_PER_PHASE = 32


@functools.cache
def _low_pass(high_rate: int, low_rate: int) -> np.ndarray:
    factor = _factor(high_rate, low_rate)
    return np.asarray(
        signal.firwin(
            TAPS_PER_PHASE * factor, 0.45 * low_rate, window=("kaiser", 8.0), fs=high_rate
        )
    )


def _factor(high_rate: int, low_rate: int) -> int:
    if high_rate % low_rate or high_rate <= low_rate:
        raise ValueError(f"{high_rate} Hz is not a whole multiple of {low_rate} Hz")
    return high_rate // low_rate


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


class Downsampler:
    """A higher rate -> a lower one (48 kHz -> 16 kHz by default), one chunk at a time; every
    output sample is emitted at once."""

    def __init__(self, from_rate: int = 48_000, to_rate: int = PIPELINE_RATE) -> None:
        self._factor = _factor(from_rate, to_rate)
        self._taps = _low_pass(from_rate, to_rate)
        self._state = np.zeros(len(self._taps) - 1)
        self._phase = 0  # index, in the next chunk, of the next sample to keep

    def push(self, pcm: np.ndarray) -> np.ndarray:
        filtered, self._state = signal.lfilter(
            self._taps, 1.0, pcm.astype(np.float64), zi=self._state
        )
        kept = filtered[self._phase :: self._factor]
        self._phase = (self._phase - len(pcm)) % self._factor
        return _to_int16(kept)


class Upsampler:
    """A lower rate -> a higher one (16 kHz -> 48 kHz by default), one chunk at a time: zeros
    stuffed between samples, then the same low-pass (times the factor, the energy the zeros
    took away)."""

    def __init__(self, from_rate: int = PIPELINE_RATE, to_rate: int = 48_000) -> None:
        self._factor = _factor(to_rate, from_rate)
        self._taps = _low_pass(to_rate, from_rate) * self._factor
        self._state = np.zeros(len(self._taps) - 1)

    def push(self, pcm: np.ndarray) -> np.ndarray:
        stuffed = np.zeros(len(pcm) * self._factor)
        stuffed[:: self._factor] = pcm
        filtered, self._state = signal.lfilter(self._taps, 1.0, stuffed, zi=self._state)
        return _to_int16(filtered)
