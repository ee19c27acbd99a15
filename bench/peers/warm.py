"""The peers' side of the bench's one warm-up policy (`bench.agents.WARM_UP_POLICY`), and the
thread counts they report.

Our agent's models are warmed once at load (`voice.providers.registry`): STT and VAD on 0.5 s
of silence, TTS on "Hello there.". The peers' stock models get exactly the same first
inferences here, so that no agent pays graph set-up or memory allocation in a measured turn.
Thread counts are read back from the live ONNX Runtime sessions where they can be, so the
results record what ran, not what was asked for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from faster_whisper import WhisperModel
from piper import PiperVoice

from bench.fairness import WARM_UP_SILENCE_S, WARM_UP_TEXT
from voice.audio import SAMPLE_RATE
from voice.providers.onnx import onnx_session


def warm_whisper(model: WhisperModel) -> None:
    """One transcription of silence with the model's own (stock) decoding settings; the
    segments are a lazy generator, so they are consumed."""
    segments, _info = model.transcribe(np.zeros(round(WARM_UP_SILENCE_S * SAMPLE_RATE), np.float32))
    for _segment in segments:
        pass


def warm_piper(voice: PiperVoice) -> None:
    """One synthesis, so ONNX set-up does not land on the first reply."""
    for _chunk in voice.synthesize(WARM_UP_TEXT):
        pass


def pinned_piper(model_path: Path, config_path: Path, threads: int) -> PiperVoice:
    """`PiperVoice.load()` as its users call it, then its ONNX session replaced by one with a
    fixed thread count (ONNX Runtime's default is one thread per core, which would let the
    stock TTS use more of the machine than ours)."""
    voice = PiperVoice.load(model_path, config_path=config_path)
    voice.session = onnx_session(model_path, threads)
    return voice


def onnx_threads(session: Any) -> int | None:
    """The intra-op thread count an ONNX Runtime session was built with (None if unknown)."""
    if not isinstance(session, ort.InferenceSession):
        return None
    return int(session.get_session_options().intra_op_num_threads)


def process_threads() -> int:
    """Threads of this process right now: how a native library's own pool is counted when it
    does not say how many threads it uses."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0
