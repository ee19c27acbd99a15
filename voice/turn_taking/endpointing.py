"""End-of-turn decision from VAD probabilities: a sans-IO state machine.

Frames with their VAD probability go in, `TurnEvent`s come out; time is the frames' media
time, so tests drive it without sleeping. `SilenceEndOfTurn` is the plain decision (the turn
ends after `silence_ms` of silence); a semantic detector implements the same `EndOfTurnDetector`
protocol and replaces it.

Events: `speech_started`; `paused` after `speculate_after_ms` of silence (the session may start
the reply speculatively); `resumed` if speech returns before the turn ends (the speculation is
discarded); `turn_ended` when the turn is over (the reply is committed and may play).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol

import numpy as np

from voice.audio import FRAME_MS
from voice.pipeline.frames import TurnEvent, UserAudio, VADFrame

PRE_ROLL_FRAMES = 10  # 200 ms kept before speech onset so STT hears the first phoneme


class EndOfTurnDetector(Protocol):
    def push(self, frame: VADFrame) -> list[TurnEvent]: ...

    def reset(self) -> None: ...


class SilenceEndOfTurn:
    def __init__(
        self,
        silence_ms: int = 300,
        threshold: float = 0.5,
        min_speech_ms: int = 60,
        speculate_after_ms: int = 20,
    ) -> None:
        self.silence_ms = silence_ms
        self.threshold = threshold
        # Hysteresis as in Silero's own iterator: once speaking, a lower bar keeps it speech.
        self.release_threshold = max(threshold - 0.15, 0.01)
        self.min_speech_ms = min_speech_ms
        self.speculate_after_ms = min(speculate_after_ms, silence_ms)
        self.reset()

    def reset(self) -> None:
        self._state = "idle"  # idle | onset | speaking | silent
        self._pre_roll: deque[VADFrame] = deque(maxlen=PRE_ROLL_FRAMES)
        self._utterance: list[VADFrame] = []
        self._voiced_run_ms = 0
        self._eos_ns = 0
        self._voiced_frames = 0  # frames in _utterance up to the last voiced one
        self._paused_sent = False

    def push(self, frame: VADFrame) -> list[TurnEvent]:
        now = frame.audio.end_time_ns
        if self._state in ("idle", "onset"):
            return self._push_idle(frame, now)
        self._utterance.append(frame)
        voiced = frame.speech_probability >= self.release_threshold
        if voiced:
            self._eos_ns = now
            self._voiced_frames = len(self._utterance)
            if self._state == "silent":
                self._state = "speaking"
                if self._paused_sent:
                    self._paused_sent = False
                    return [TurnEvent("resumed", at_ns=now)]
            return []
        self._state = "silent"
        silence_ms = (now - self._eos_ns) / 1e6
        if silence_ms >= self.required_silence_ms():
            event = TurnEvent(
                "turn_ended",
                at_ns=now,
                eos_ns=self._eos_ns,
                audio=self._audio(),
                decision=self.decision_record(silence_ms),
            )
            self.reset()
            return [event]
        if not self._paused_sent and silence_ms >= self.speculate_after_ms:
            self._paused_sent = True
            return [TurnEvent("paused", at_ns=now, eos_ns=self._eos_ns, audio=self._audio())]
        return []

    def required_silence_ms(self) -> float:
        """How much silence ends the turn now; a semantic detector makes this adaptive."""
        return self.silence_ms

    def decision_record(self, silence_ms: float) -> dict[str, Any]:
        """Why the turn ended, for the turn's trace."""
        return {"detector": "silence", "wait_ms": self.silence_ms, "silence_ms": silence_ms}

    def _push_idle(self, frame: VADFrame, now: int) -> list[TurnEvent]:
        if frame.speech_probability >= self.threshold:
            self._voiced_run_ms += FRAME_MS
            self._utterance.append(frame)
            self._state = "onset"
            if self._voiced_run_ms >= self.min_speech_ms:
                self._utterance = [*self._pre_roll, *self._utterance]
                self._pre_roll.clear()
                self._state = "speaking"
                self._eos_ns = now
                self._voiced_frames = len(self._utterance)
                onset_ns = self._utterance[len(self._utterance) - self._voiced_run_ms // FRAME_MS]
                return [TurnEvent("speech_started", at_ns=onset_ns.audio.media_time_ns)]
            return []
        # A blip shorter than min_speech_ms: fold it back into the pre-roll.
        for held in self._utterance:
            self._pre_roll.append(held)
        self._utterance = []
        self._voiced_run_ms = 0
        self._state = "idle"
        self._pre_roll.append(frame)
        return []

    def _audio(self) -> UserAudio:
        frames = self._utterance[: self._voiced_frames]
        pcm = np.concatenate([f.audio.pcm for f in frames])
        return UserAudio(pcm=pcm, start_ns=frames[0].audio.media_time_ns, eos_ns=self._eos_ns)
