"""Piper en_US-joe-medium, one clause at a time, on its own ONNX session with fixed threads."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from piper import PiperVoice
from piper.config import PiperConfig, SynthesisConfig

from voice.errors import ModelLoadError
from voice.providers.onnx import onnx_session


class PiperTTS:
    name = "piper"

    def __init__(
        self,
        model_path: Path,
        config_path: Path,
        threads: int = 2,
        length_scale: float = 1.0,
        spin: bool = True,
    ) -> None:
        self.model_path = model_path
        self.threads = threads
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"cannot read Piper voice config {config_path}: {exc}") from exc
        self._voice = PiperVoice(config=config, session=onnx_session(model_path, threads, spin))
        self._synthesis = SynthesisConfig(length_scale=length_scale)
        self.sample_rate = int(config.sample_rate)

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        for chunk in self._voice.synthesize(text, self._synthesis):
            if cancel.is_set():
                return
            yield np.asarray(chunk.audio_int16_array, dtype=np.int16)
