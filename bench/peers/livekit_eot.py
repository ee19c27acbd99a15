"""LiveKit's end of turn, pinned and recorded: the local `v1-mini` audio model, or VAD only.

Given no turn detection, LiveKit 1.8 builds `inference.TurnDetector()`, which picks its model
from the environment: the cloud `turn-detector-v1` when `LIVEKIT_REMOTE_EOT_URL` or
`LIVEKIT_DEV_MODE=1` is set, else the local `turn-detector-v1-mini` (run in-process by the
`livekit-local-inference` wheel, no download). The benchmark never lets an environment
variable choose: it passes `TurnDetector(version="v1-mini")` explicitly, which is what
LiveKit's users get on a machine without LiveKit Cloud, and only the session's default
otherwise (LiveKit treats an explicit detector differently only for realtime LLMs).

Each prediction the model makes is recorded (time on the monotonic clock, probability that
the turn is over) by wrapping the stream's `_resolve_prediction`, where the transport hands it
back: LiveKit exposes these probabilities only in its debug log and OpenTelemetry spans.

The native model's thread pool is not configurable; the results record how many threads the
process gained when it loaded.
"""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any, Literal

import numpy as np
from livekit.agents import inference
from livekit.agents.inference import TurnDetectorVersions
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions

from bench.peers.warm import process_threads
from voice.audio import SAMPLE_RATE

EndOfTurn = Literal["vad", "audio_model"]
PINNED_VERSION: TurnDetectorVersions = "v1-mini"


class RecordingTurnDetector(inference.TurnDetector):
    """`TurnDetector(version="v1-mini")` that appends every prediction to `predictions`."""

    def __init__(self) -> None:
        super().__init__(version=PINNED_VERSION)
        self.predictions: list[dict[str, float | int]] = []

    def stream(self, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> Any:
        stream = super().stream(conn_options=conn_options)
        resolve = stream._resolve_prediction

        def recording_resolve(request_id: str, probability: float, **kwargs: Any) -> None:
            self.predictions.append(
                {"at_ns": time.monotonic_ns(), "p": round(float(probability), 4)}
            )
            resolve(request_id, probability, **kwargs)

        stream._resolve_prediction = recording_resolve  # type: ignore[method-assign]
        return stream


def load_v1_mini() -> tuple[RecordingTurnDetector, int]:
    """The pinned detector, its native model loaded and warmed by one prediction on 1 s of
    silence; also how many threads the process gained doing so."""
    from livekit.local_inference import EOT, init_eot

    before = process_threads()
    init_eot()
    with EOT() as eot:
        eot.predict(np.zeros(SAMPLE_RATE, dtype=np.int16))
    detector = RecordingTurnDetector()
    return detector, process_threads() - before


def describe_end_of_turn(
    end_of_turn: EndOfTurn, detector: RecordingTurnDetector | None
) -> dict[str, Any]:
    """Which end-of-turn model ran, and its version (the wheel that ships it)."""
    agents = importlib.metadata.version("livekit-agents")
    if end_of_turn == "vad":
        return {"model": "vad", "turn_detection": "vad", "version": f"livekit-agents {agents}"}
    return {
        "model": detector.model if detector is not None else "turn-detector-v1-mini",
        "requested_version": PINNED_VERSION,
        "version": (
            f"livekit-local-inference {importlib.metadata.version('livekit-local-inference')}"
        ),
        "framework": f"livekit-agents {agents}",
    }
