"""Audio at the edges: reading WAV files, converting rates with soxr, cutting 20 ms frames.

Inside the agent all audio is 16 kHz mono int16 in 20 ms frames (320 samples). Everything that
arrives at another rate or channel count is converted here, once, with a real resampler.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from voice.errors import AudioInputError

SAMPLE_RATE = 16_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 320
FRAME_NS = FRAME_MS * 1_000_000


@dataclass(frozen=True)
class Clip:
    """Mono int16 PCM at a known rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def read_wav(path: str | Path) -> Clip:
    """Read a PCM WAV of any rate and channel count and mix it down to mono int16.

    Raises `AudioInputError` with a one-line reason for a missing, empty, non-WAV or truncated
    file, so that callers never show a traceback for bad input.
    """
    path = Path(path)
    if not path.exists():
        raise AudioInputError(f"{path}: no such file")
    if path.is_dir():
        raise AudioInputError(f"{path}: is a directory, not a WAV file")
    if path.stat().st_size == 0:
        raise AudioInputError(f"{path}: the file is empty")
    try:
        with wave.open(str(path), "rb") as wav:
            channels = wav.getnchannels()
            width = wav.getsampwidth()
            rate = wav.getframerate()
            declared_frames = wav.getnframes()
            raw = wav.readframes(declared_frames)
    except (wave.Error, EOFError) as exc:
        raise AudioInputError(f"{path}: not a PCM WAV file ({exc})") from exc
    if width not in (1, 2, 3, 4):
        raise AudioInputError(f"{path}: unsupported sample width of {width} bytes")
    if rate < 4000 or rate > 384_000:
        raise AudioInputError(f"{path}: unsupported sample rate {rate} Hz")
    bytes_per_frame = width * channels
    usable = len(raw) - len(raw) % bytes_per_frame
    if usable == 0:
        raise AudioInputError(f"{path}: the WAV file holds no audio samples")
    if len(raw) < declared_frames * bytes_per_frame:
        raise AudioInputError(
            f"{path}: truncated WAV (header declares {declared_frames} frames, "
            f"file holds {usable // bytes_per_frame})"
        )
    pcm = _decode_pcm(raw[:usable], width).reshape(-1, channels)
    mono = pcm.mean(axis=1) if channels > 1 else pcm[:, 0]
    return Clip(np.clip(mono, -32768, 32767).astype(np.int16), rate)


def _decode_pcm(raw: bytes, width: int) -> np.ndarray:
    """Decode little-endian PCM of 8/16/24/32 bits into float64 on the int16 scale."""
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64)
    if width == 3:
        triplets = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / 256.0
    return np.frombuffer(raw, dtype="<i4").astype(np.float64) / 65536.0


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write mono int16 PCM."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(np.asarray(samples, dtype=np.int16).tobytes())


def resample(samples: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample mono int16 audio with soxr (high quality)."""
    if from_rate == to_rate or len(samples) == 0:
        return np.asarray(samples, dtype=np.int16)
    out = soxr.resample(np.asarray(samples, dtype=np.int16), from_rate, to_rate, quality="HQ")
    return np.asarray(out, dtype=np.int16)


def to_internal(clip: Clip) -> np.ndarray:
    """The clip as 16 kHz mono int16, the agent's internal format."""
    return resample(clip.samples, clip.sample_rate, SAMPLE_RATE)


def int16_to_float(samples: np.ndarray) -> np.ndarray:
    return np.asarray(samples, dtype=np.float32) / 32768.0


def split_frames(samples: np.ndarray, frame_samples: int = FRAME_SAMPLES) -> Iterator[np.ndarray]:
    """Cut audio into whole frames; the last partial frame is padded with silence."""
    for start in range(0, len(samples), frame_samples):
        frame = samples[start : start + frame_samples]
        if len(frame) < frame_samples:
            frame = np.concatenate([frame, np.zeros(frame_samples - len(frame), dtype=frame.dtype)])
        yield frame


class StreamResampler:
    """Streaming rate conversion (soxr's stateful stream) that re-frames into 20 ms frames.

    Used for TTS output, which arrives in chunks of arbitrary length at the voice's own rate.
    """

    def __init__(self, from_rate: int, to_rate: int = SAMPLE_RATE) -> None:
        self._stream = (
            None if from_rate == to_rate else soxr.ResampleStream(from_rate, to_rate, 1, "int16")
        )
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, samples: np.ndarray, last: bool = False) -> list[np.ndarray]:
        """Feed a chunk; return the whole frames now available (all remaining ones if `last`)."""
        samples = np.asarray(samples, dtype=np.int16)
        converted = samples if self._stream is None else self._stream.resample_chunk(samples, last)
        self._pending = np.concatenate([self._pending, np.asarray(converted, dtype=np.int16)])
        whole = len(self._pending) // FRAME_SAMPLES * FRAME_SAMPLES
        if last and len(self._pending) > whole:
            whole += FRAME_SAMPLES
            self._pending = np.concatenate(
                [self._pending, np.zeros(whole - len(self._pending), dtype=np.int16)]
            )
        frames = [self._pending[i : i + FRAME_SAMPLES] for i in range(0, whole, FRAME_SAMPLES)]
        self._pending = self._pending[whole:]
        return frames
