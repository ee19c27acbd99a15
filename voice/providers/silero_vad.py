"""Silero VAD v5 on onnxruntime, fed 20 ms frames.

Silero scores 512-sample windows (32 ms at 16 kHz) with 64 samples of context from the previous
window; our frames are 320 samples, so frames are buffered and each frame gets the probability
of the most recent complete window. The ONNX session is shared; the recurrent state and context
are per stream (per session).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from voice.audio import SAMPLE_RATE, int16_to_float, split_frames
from voice.providers.onnx import onnx_session

WINDOW = 512
CONTEXT = 64


class SileroStream:
    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._last_probability = 0.0

    def probability(self, frame: np.ndarray) -> float:
        self._pending = np.concatenate([self._pending, int16_to_float(frame)])
        while len(self._pending) >= WINDOW:
            window = self._pending[:WINDOW]
            self._pending = self._pending[WINDOW:]
            model_input = np.concatenate([self._context, window])[None, :]
            output, self._state = self._session.run(
                None, {"input": model_input, "state": self._state, "sr": self._sr}
            )
            self._context = window[-CONTEXT:]
            self._last_probability = float(output[0][0])
        return self._last_probability


class SileroVAD:
    name = "silero"

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        self.model_path = model_path
        self.threads = threads
        self._session = onnx_session(model_path, threads)

    def new_stream(self) -> SileroStream:
        return SileroStream(self._session)

    def speech_mask(self, pcm: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """Per-20 ms-frame speech decision for a whole clip (used by tests and tooling)."""
        stream = self.new_stream()
        return np.array([stream.probability(f) >= threshold for f in split_frames(pcm)])
