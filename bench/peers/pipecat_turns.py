"""Per-turn records of a Pipecat session: transcript, reply, interruption, and stage spans.

Transcript and reply come from the context aggregators' turn events (what Pipecat itself writes
into the LLM context). The spans come from an observer that notes when the frames marking each
stage are first pushed; Pipecat stamps every push with its pipeline clock, which is
`time.monotonic_ns()` minus the clock's start, so the spans are on the same clock as the
transport's. Observers run off the frame path (Pipecat queues to them), so they cost the
pipeline almost nothing, and the push timestamp, not the observer's own time, is what counts.

Stage names follow ours where a Pipecat frame marks the same moment:
`endpoint` VAD stop -> user turn stopped (the turn strategy's decision), `stt` VAD stop -> final
transcript, `llm.ttft` context to the LLM -> first LLM token, `tts.ttfb` first text to the TTS
-> first TTS audio, `transport` first TTS audio -> first frame handed to the transport.

The end-of-turn model's predictions (Smart Turn's probability that the turn is complete) come
as `MetricsFrame`s holding `TurnMetricsData`; each bot turn keeps those made since the last one, as
`eot_predictions` (time on the monotonic clock, probability).
"""

from __future__ import annotations

import time
from typing import Any

from pipecat.clocks.base_clock import BaseClock
from pipecat.frames.frames import (
    Frame,
    LLMContextFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStartedFrame,
    UserStoppedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TurnMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed

# (span name, start mark, end mark); marks are keys of `_Marks`
_SPANS = (
    ("endpoint", "vad_stop", "turn_stop"),
    ("stt", "vad_stop", "transcript"),
    ("llm.ttft", "llm_request", "llm_token"),
    ("tts.ttfb", "tts_start", "tts_audio"),
    ("transport", "tts_audio", "first_audio"),
)

_FIRST_MARKS: tuple[tuple[type[Frame], str], ...] = (
    (UserStoppedSpeakingFrame, "turn_stop"),
    (LLMContextFrame, "llm_request"),
    (LLMTextFrame, "llm_token"),
    (TTSStartedFrame, "tts_start"),
    (TTSAudioRawFrame, "tts_audio"),
)


class TurnRecorder(BaseObserver):
    """Collects one record per bot turn; feed it the aggregator events and hand-over times."""

    def __init__(self, clock: BaseClock) -> None:
        super().__init__(observe_every_push=False)
        self._clock = clock
        self._origin_ns: int | None = None
        self.turns: list[dict[str, Any]] = []
        self._transcripts: list[str] = []
        self._marks: dict[str, int] = {}
        self._llm_text: list[str] = []
        self._eot: list[dict[str, float | int]] = []

    # --- observer: stage marks -------------------------------------------------------------

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if isinstance(frame, MetricsFrame):
            at_ns = self._monotonic(data.timestamp)
            for item in frame.data:
                if isinstance(item, TurnMetricsData):
                    self._eot.append({"at_ns": at_ns, "p": round(float(item.probability), 4)})
            return
        if isinstance(frame, (VADUserStoppedSpeakingFrame, TranscriptionFrame)):
            # the last VAD stop (and its transcript) before the user turn ends is the end of
            # the user's speech; later ones belong to speech over the bot
            if "turn_stop" not in self._marks:
                is_vad = isinstance(frame, VADUserStoppedSpeakingFrame)
                at_ns = self._monotonic(data.timestamp)
                self._marks["vad_stop" if is_vad else "transcript"] = at_ns
            return
        if isinstance(frame, LLMTextFrame):
            self._llm_text.append(frame.text)
        for frame_type, mark in _FIRST_MARKS:
            if isinstance(frame, frame_type):
                self._marks.setdefault(mark, self._monotonic(data.timestamp))
                return

    def _monotonic(self, pipeline_ns: int) -> int:
        """A pipeline-clock time on `time.monotonic_ns()` (the clock counts from its start)."""
        if self._origin_ns is None:
            self._origin_ns = time.monotonic_ns() - self._clock.get_time()
        return self._origin_ns + pipeline_ns

    # --- hooks from the pipeline -----------------------------------------------------------

    def audio_handed(self, handed_ns: int) -> None:
        """Called by the output transport for each 20 ms frame given to the loopback."""
        self._marks.setdefault("first_audio", handed_ns)

    def user_turn(self, transcript: str | None) -> None:
        if transcript and transcript.strip():
            self._transcripts.append(transcript.strip())

    def bot_turn(self, reply: str, interrupted: bool) -> None:
        """Close the turn. Pipecat's reply is the text whose audio was played out; a turn
        interrupted early has none, and then, if any of its audio reached the transport, the
        LLM's text stands in for it (our agent reports the text it synthesized)."""
        if not reply.strip() and "first_audio" in self._marks:
            reply = "".join(self._llm_text)
        spans = {
            name: {"start_ns": self._marks[start], "end_ns": self._marks[end]}
            for name, start, end in _SPANS
            if start in self._marks and end in self._marks
        }
        self.turns.append(
            {
                "transcript": " ".join(self._transcripts),
                "reply": reply.strip(),
                "interrupted": interrupted,
                "first_audio_ns": self._marks.get("first_audio"),
                "spans": spans,
                "eot_predictions": self._eot,
            }
        )
        self._transcripts = []
        self._marks = {}
        self._llm_text = []
        self._eot = []
