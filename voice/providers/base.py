"""The provider protocols. Each call blocks and is run on the provider's worker thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from voice.pipeline.frames import UserAudio, WireAudio


class VADStream(Protocol):
    """Per-session VAD state. `probability` takes one 20 ms 16 kHz frame."""

    def probability(self, frame: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class VAD(Protocol):
    name: str

    def new_stream(self) -> VADStream: ...


class LiveSTT(Protocol):
    """A call's live connection to a streaming STT (voice/agent/live_stt.py)."""

    def push(self, pcm: np.ndarray, media_time_ns: int, wire: WireAudio | None = None) -> None:
        """One input frame (16 kHz), and on a phone call the bytes it was decoded from, which
        a provider may send instead; never blocks."""
        ...

    def transcribe_utterance(self, audio: UserAudio) -> str:
        """The utterance's words; blocks on the network (run it off the event loop)."""
        ...

    def close(self) -> None: ...


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


@dataclass(frozen=True)
class Tool:
    """A function the model may call instead of (or after) answering in words.

    `description` is what the model reads to decide when to call it; `input_schema` is the
    JSON Schema of its input object.
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """The model called a tool: a reply stream's item besides text, once its input is whole."""

    id: str
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True)
class ToolUse:
    """The tools a turn offers the model, and what answers a call: `handle(call, words)`, with
    the caller's words of the turn, gives the text to speak (None: nothing to say). It runs on
    the event loop, in the LLM stage."""

    tools: Sequence[Tool]
    handle: Callable[[ToolCall, str], str | None]


@runtime_checkable
class ToolLLM(Protocol):
    """An LLM that can call tools (Anthropic). A separate, optional protocol rather than a
    change to `LLM.stream_reply`: the local models, the bench peers and the test doubles keep
    their `Iterator[str]`, and only a turn with tools asks for `str | ToolCall` items."""

    def stream_reply_with_tools(
        self, history: Sequence[DialogueTurn], cancel: threading.Event, tools: Sequence[Tool]
    ) -> Iterator[str | ToolCall]:
        """As `LLM.stream_reply`, and a `ToolCall` when the model calls one of `tools`."""
        ...


class TTS(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        """Yield mono int16 chunks at `sample_rate` for one clause."""
        ...
