"""Pipecat's end of turn, pinned and described: its default Smart Turn, or VAD only.

- `smart_turn` (Pipecat's default, what `--compare pipecat` runs): the user turn ends when
  `TurnAnalyzerUserTurnStopStrategy` with `LocalSmartTurnAnalyzerV3` says so; the model is the
  `smart-turn-v3.2-cpu.onnx` bundled in `pipecat-ai`, named explicitly here so that a Pipecat
  upgrade that changes the default cannot change the benchmark unnoticed. The ONNX session
  (one intra-op thread, Pipecat's default `cpu_count=1`) is loaded and warmed once per peer;
  each session gets its own analyzer (audio buffer, timers) on that shared session, as each
  Pipecat call would get its own analyzer.
- `vad` (`--compare pipecat_vad`): Pipecat's VAD-only stop strategy,
  `SpeechTimeoutUserTurnStopStrategy` with its defaults (the turn ends 0.6 s after Silero's
  stop, once a transcript has arrived). Comparing the two separates what the end-of-turn model
  costs from what the framework costs.

Smart Turn's per-turn probabilities reach the pipeline as `MetricsFrame`s holding
`TurnMetricsData`; `pipecat_turns.TurnRecorder` records them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from bench.peers.warm import onnx_threads
from voice.audio import SAMPLE_RATE

EndOfTurn = Literal["smart_turn", "vad"]
SMART_TURN_FILE = "smart-turn-v3.2-cpu.onnx"
SMART_TURN_THREADS = 1  # Pipecat's default (`cpu_count=1`), the same as our VAD's
VAD_ONLY_TIMEOUT_S = 0.6  # SpeechTimeoutUserTurnStopStrategy's default user_speech_timeout


def smart_turn_path() -> Path:
    """The Smart Turn model file bundled in `pipecat-ai`."""
    import pipecat.audio.turn.smart_turn.data as data

    return Path(data.__file__).parent / SMART_TURN_FILE


class SmartTurnModel:
    """The bundled Smart Turn v3.2, loaded once with a fixed thread count and warmed once."""

    def __init__(self, threads: int = SMART_TURN_THREADS) -> None:
        self.path = smart_turn_path()
        loader = LocalSmartTurnAnalyzerV3(smart_turn_model_path=str(self.path), cpu_count=threads)
        self.session = loader._session
        loader._predict_endpoint(np.zeros(SAMPLE_RATE, dtype=np.float32))  # 1 s of silence
        self.threads = onnx_threads(self.session)


class SharedSmartTurnAnalyzerV3(LocalSmartTurnAnalyzerV3):
    """`LocalSmartTurnAnalyzerV3` on an ONNX session loaded once, not once per session."""

    def __init__(self, *, model: SmartTurnModel, **kwargs: Any) -> None:
        BaseSmartTurn.__init__(self, **kwargs)
        self._log_data = False
        self._session = model.session


def user_turn_strategies(
    end_of_turn: EndOfTurn, model: SmartTurnModel | None
) -> UserTurnStrategies:
    """This session's start and stop strategies (start: Pipecat's defaults)."""
    if end_of_turn == "vad":
        return UserTurnStrategies(
            stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=VAD_ONLY_TIMEOUT_S)]
        )
    assert model is not None
    analyzer = SharedSmartTurnAnalyzerV3(model=model)
    return UserTurnStrategies(stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer)])


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def describe_end_of_turn(end_of_turn: EndOfTurn, model: SmartTurnModel | None) -> dict[str, Any]:
    """Which end-of-turn model ran, and its version (the package that ships it, the file)."""
    version = importlib.metadata.version("pipecat-ai")
    if end_of_turn == "vad":
        return {
            "model": "vad",
            "strategy": "SpeechTimeoutUserTurnStopStrategy",
            "user_speech_timeout_s": VAD_ONLY_TIMEOUT_S,
            "version": f"pipecat-ai {version}",
        }
    path = model.path if model is not None else smart_turn_path()
    return {
        "model": path.stem,
        "strategy": "TurnAnalyzerUserTurnStopStrategy(LocalSmartTurnAnalyzerV3)",
        "version": f"pipecat-ai {version}",
        "file": path.name,
        "sha256_16": _sha256(path),
    }
