"""The few typed frames that flow between stages.

Audio frames carry the media time on the one monotonic clock (`time.monotonic_ns()`): the
capture time for input audio, the time it was handed out for output audio. Control does not
travel hidden among data frames: turn boundaries are their own frame types, and cancellation is
the turn scope's job, not a frame's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voice.audio import FRAME_NS, SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class WireAudio:
    """The bytes an input frame was decoded from, as the caller's wire carried them.

    Why: a phone call arrives as 8 kHz G.711, and a cloud STT that accepts that format
    (Deepgram) is better sent these bytes than the pipeline's 16 kHz PCM: a quarter of the
    bandwidth, and exactly what the caller sent. One byte per sample (G.711).
    """

    encoding: str  # in Deepgram's names: "mulaw" or "alaw"
    sample_rate: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """20 ms of 16 kHz mono int16 PCM stamped with its media time, and for a phone's input
    the same 20 ms as the wire carried it (`wire`; None from the loopback and WebRTC)."""

    pcm: np.ndarray
    media_time_ns: int
    sample_rate: int = SAMPLE_RATE
    wire: WireAudio | None = field(default=None, repr=False)

    @property
    def end_time_ns(self) -> int:
        return self.media_time_ns + len(self.pcm) * 1_000_000_000 // self.sample_rate

    @property
    def duration_ns(self) -> int:
        return FRAME_NS if len(self.pcm) == 0 else self.end_time_ns - self.media_time_ns


@dataclass(frozen=True, slots=True)
class VADFrame:
    """An input audio frame with the voice-activity probability the VAD gave it."""

    audio: AudioFrame
    speech_probability: float


@dataclass(frozen=True, slots=True)
class UserAudio:
    """The audio of one user utterance, handed to STT."""

    pcm: np.ndarray
    start_ns: int
    eos_ns: int


@dataclass(frozen=True, slots=True)
class TranscriptFrame:
    text: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class TokenFrame:
    """A piece of LLM output text."""

    text: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class ClauseFrame:
    """A speakable piece of the reply, handed to TTS as one unit."""

    text: str
    index: int
    at_ns: int


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """A turn-taking event from the end-of-turn detector.

    kind: `speech_started` (user began speaking), `paused` (first silence after speech;
    speculation may start), `resumed` (speech came back before the turn ended), `turn_ended`
    (the user's turn is over: commit). `eos_ns` is the end of the last voiced frame.
    """

    kind: str
    at_ns: int
    eos_ns: int = 0
    audio: UserAudio | None = field(default=None, repr=False)
    decision: dict[str, Any] | None = None  # turn_ended: why the detector ended the turn


Frame = AudioFrame | VADFrame | UserAudio | TranscriptFrame | TokenFrame | ClauseFrame | TurnEvent
