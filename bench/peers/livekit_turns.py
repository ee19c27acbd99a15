"""What a LiveKit session did, per bot turn, in the benchmark's turn format.

A bot turn is an assistant message LiveKit added to the conversation; its transcript is the
user messages committed since the previous one. Stage spans come from LiveKit's own metrics
events where they are cheap to convert: LiveKit stamps them with `time.time()` and durations,
which are placed on our `time.monotonic_ns()` clock with one offset read at the start of the run.

- `endpoint`: LiveKit's end of speech -> turn committed (EOU metrics: commit time and delay).
- `stt`: the STT request that ended last before the commit (STT metrics: end time and duration).
- `llm.ttft`: LLM request -> first token (LLM metrics of the reply's speech).
- `tts.ttfb`: the first TTS request of the reply -> its first audio (TTS metrics).
- `transport`: the first TTS audio -> the reply's first frame handed to the transport.

End-of-turn predictions (time, probability; `livekit_eot`) go to the bot turn that followed
them: each turn gets those made after the previous turn's commit and up to its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import AgentSession, llm, metrics
from livekit.agents.voice import SpeechHandle, events

from bench.peers.livekit_io import SegmentStart


def _span(start_ns: int, end_ns: int) -> dict[str, int]:
    return {"start_ns": start_ns, "end_ns": end_ns}


def _first_audio_ns(item: llm.ChatMessage, segment_starts: list[SegmentStart]) -> int | None:
    """When the reply's first frame was handed over: the segment whose playback start LiveKit
    recorded as the reply's `started_speaking_at` (the very value our output reported)."""
    started = item.metrics.get("started_speaking_at")
    if started is None or not segment_starts:
        return None
    nearest = min(segment_starts, key=lambda s: abs(s.wall_s - started))
    return nearest.handed_ns if abs(nearest.wall_s - started) < 0.05 else None


@dataclass
class TurnLog:
    """Listens to one session's events and turns them into the benchmark's per-turn dicts."""

    offset_ns: int = field(default_factory=lambda: time.monotonic_ns() - time.time_ns())
    items: list[llm.ChatMessage] = field(default_factory=list)
    speech_of_item: dict[str, str] = field(default_factory=dict)
    collected: list[metrics.AgentMetrics] = field(default_factory=list)
    handles: list[SpeechHandle] = field(default_factory=list)

    def attach(self, session: AgentSession) -> None:
        session.on("conversation_item_added", self._on_item)
        session.on("metrics_collected", self._on_metrics)
        session.on("speech_created", self._on_speech)

    def _on_item(self, event: events.ConversationItemAddedEvent) -> None:
        if isinstance(event.item, llm.ChatMessage):
            self.items.append(event.item)

    def _on_metrics(self, event: events.MetricsCollectedEvent) -> None:
        self.collected.append(event.metrics)

    def _on_speech(self, event: events.SpeechCreatedEvent) -> None:
        self.handles.append(event.speech_handle)

    def mono_ns(self, wall_s: float) -> int:
        """A `time.time()` reading on the `time.monotonic_ns()` clock."""
        return round(wall_s * 1e9) + self.offset_ns

    def turns(
        self,
        segment_starts: list[SegmentStart],
        predictions: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """One dict per assistant message, in order; `predictions` are the end-of-turn
        model's, on the monotonic clock."""
        pending = sorted(predictions or [], key=lambda p: p["at_ns"])
        for handle in self.handles:
            for item in handle.chat_items:
                self.speech_of_item[item.id] = handle.id
        result: list[dict[str, Any]] = []
        user_text: list[str] = []
        for item in self.items:
            text = (item.text_content or "").strip()
            if item.role == "user":
                if text:
                    user_text.append(text)
                continue
            if item.role != "assistant":
                continue
            first_ns = _first_audio_ns(item, segment_starts)
            speech_id = self.speech_of_item.get(item.id)
            spans = self._spans(speech_id, first_ns)
            committed = (spans.get("endpoint") or {}).get("end_ns") or first_ns
            mine = [p for p in pending if committed is None or p["at_ns"] <= committed]
            pending = pending[len(mine) :]
            result.append(
                {
                    "transcript": " ".join(user_text),
                    "reply": text,
                    "interrupted": bool(item.interrupted),
                    "first_audio_ns": first_ns,
                    "spans": spans,
                    "eot_predictions": mine,
                }
            )
            user_text = []
        return result

    def _of_speech(self, kind: type[Any], speech_id: str | None) -> list[Any]:
        return [
            m
            for m in self.collected
            if isinstance(m, kind) and speech_id is not None and m.speech_id == speech_id
        ]

    def _spans(self, speech_id: str | None, first_audio_ns: int | None) -> dict[str, Any]:
        spans: dict[str, Any] = {}
        eou = self._of_speech(metrics.EOUMetrics, speech_id)
        if eou:
            committed = self.mono_ns(eou[0].timestamp)
            spans["endpoint"] = _span(
                committed - round(eou[0].end_of_utterance_delay * 1e9), committed
            )
            stt_done = [
                m
                for m in self.collected
                if isinstance(m, metrics.STTMetrics)
                and self.mono_ns(m.timestamp) <= committed
                and m.duration > 0
            ]
            if stt_done:
                last = stt_done[-1]
                end = self.mono_ns(last.timestamp)
                spans["stt"] = _span(end - round(last.duration * 1e9), end)
        llm_done = [m for m in self._of_speech(metrics.LLMMetrics, speech_id) if m.ttft >= 0]
        if llm_done:
            m = llm_done[-1]
            start = self.mono_ns(m.timestamp) - round(m.duration * 1e9)
            spans["llm.ttft"] = _span(start, start + round(m.ttft * 1e9))
        tts_done = [m for m in self._of_speech(metrics.TTSMetrics, speech_id) if m.ttfb >= 0]
        if tts_done:
            starts = [
                (self.mono_ns(m.timestamp) - round(m.duration * 1e9), round(m.ttfb * 1e9))
                for m in tts_done
            ]
            start, ttfb = min(starts)
            spans["tts.ttfb"] = _span(start, start + ttfb)
            if first_audio_ns is not None and first_audio_ns >= start + ttfb:
                spans["transport"] = _span(start + ttfb, first_audio_ns)
        return spans
