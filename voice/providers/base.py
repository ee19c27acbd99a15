"""The provider protocols. Each call blocks and is run on the provider's worker thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class VADStream(Protocol):
    """Per-session VAD state. `probability` takes one 20 ms 16 kHz frame."""

    def probability(self, frame: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class VAD(Protocol):
    name: str

    def new_stream(self) -> VADStream: ...


class STT(Protocol):
    name: str

    def transcribe(self, pcm: np.ndarray) -> str:
        """Final transcript of one utterance of 16 kHz mono int16 audio."""
        ...


@dataclass(frozen=True)
class DialogueTurn:
    role: str  # "user" or "assistant"
    text: str
    interrupted: bool = False  # assistant: the caller cut in; `text` is only what was heard


class LLM(Protocol):
    name: str

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        """Yield reply text pieces for the dialogue so far (its last turn is the user's).

        Stops early when `cancel` is set.
        """
        ...

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        """Evaluate the fixed prompt prefix so the first reply starts fast."""
        ...


class TTS(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        """Yield mono int16 chunks at `sample_rate` for one clause."""
        ...
