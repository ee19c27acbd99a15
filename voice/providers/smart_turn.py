"""Smart Turn v3.2 (the audio end-of-turn model shipped inside `pipecat-ai`) on our own ONNX
Runtime session, without Pipecat's pipeline.

The model reads the last 8 s of the user's audio (zero-padded at the front) as 80-bin Whisper
log-mel features of the normalized waveform, and returns the probability that the speaker has
finished their turn: it hears the falling pitch and the lengthened last syllable of a complete
sentence, which a transcript does not show. Features come from faster-whisper's numpy feature
extractor (a kept library), after the zero-mean/unit-variance normalization the model was
trained with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

from voice.audio import SAMPLE_RATE, int16_to_float
from voice.errors import ModelLoadError
from voice.providers.onnx import onnx_session

WINDOW_S = 8
_NORM_EPS = 1e-7


class SmartTurn:
    name = "smart-turn-v3.2"

    def __init__(self, model_path: Path, threads: int = 1) -> None:
        self.model_path = model_path
        self.threads = threads
        self._session = onnx_session(model_path, threads)
        inputs = {i.name for i in self._session.get_inputs()}
        if "input_features" not in inputs:
            raise ModelLoadError(
                f"{model_path} is not a Smart Turn v3 model (inputs: {sorted(inputs)})"
            )
        self._features = FeatureExtractor(feature_size=80, chunk_length=WINDOW_S)

    def probability(self, pcm: np.ndarray) -> float:
        """P(the turn is complete) for 16 kHz int16 audio ending now (speech + the pause)."""
        window = WINDOW_S * SAMPLE_RATE
        audio = int16_to_float(np.asarray(pcm, dtype=np.int16))[-window:]
        audio = np.pad(audio, (window - len(audio), 0))
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + _NORM_EPS)
        mel = self._features(audio, padding=0)[:, : WINDOW_S * 100]
        output = self._session.run(None, {"input_features": mel[None].astype(np.float32)})
        return float(np.asarray(output[0]).reshape(-1)[0])
