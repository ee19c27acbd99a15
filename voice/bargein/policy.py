"""The barge-in decision: a sans-IO state machine.

While the bot speaks, every input frame goes in with its VAD probability and energy; so do the
results of the quick transcriptions the policy asks for. Decisions come out: `pause` (hold the
bot's playout now: the caller may be interrupting), `resume` (it was a backchannel or a noise:
play on from where it paused), `interrupt` (it is a real interruption: stop the bot's turn),
`ignore` (speech over the bot that does not stop it, decided without pausing), `defer` (a real
turn over a reply that must be heard whole: answer it once the reply is over) and
`transcribe` (a request for a quick STT of the snippet so far, which the adapter runs and feeds
back through `transcript()`). Time is the frames' media time, so tests drive the policy
without models or sleeping.

Two strategies (`strategy`):
- `pause`: hold the bot's audio after `pause_after_ms` of voiced frames (the stop is immediate),
  then confirm the interruption or resume where it paused. A backchannel costs a short pause.
- `wait`: keep talking until there is enough evidence (`min_speech_ms` of speech and
  `min_words` words that are not backchannels, or `confirm_ms` of speech whatever the words),
  then stop. A backchannel costs nothing; a real interruption costs the evidence time.

Why not energy or the VAD alone: a "yeah" is as loud and as voiced as a "wait"; only the words
and the duration tell them apart. Noise (a cough, keys) mostly fails the VAD and never pauses;
what passes it is told apart by its empty or word-less transcript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voice.audio import FRAME_MS

DEFAULT_IGNORE_WORDS: tuple[str, ...] = (
    "yeah",
    "yes",
    "yep",
    "yup",
    "mm-hmm",
    "mhm",
    "mm",
    "hmm",
    "hm",
    "uh-huh",
    "uh huh",
    "um hum",
    "right",
    "okay",
    "ok",
    "sure",
    "i see",
    "got it",
    "alright",
    "all right",
    "oh",
    "ah",
    "uh",
    "um",
    "wow",
    "cool",
    "nice",
)
STRATEGIES = ("pause", "wait")
# What Whisper invents on a fraction of a second of audio (a breath, a syllable): never words
# that interrupt when the snippet is shorter than PHANTOM_BELOW_MS of speech.
STT_PHANTOMS: tuple[str, ...] = (
    "thank you",
    "thanks",
    "thank you for watching",
    "thanks for watching",
    "bye",
    "bye bye",
    "you",
    "welcome",
)
PHANTOM_BELOW_MS = 800
_WORD = re.compile(r"[a-z0-9']+(?:-[a-z0-9']+)*")
_NON_SPEECH = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*")  # Whisper's "[coughing]", "(music)"


@dataclass(frozen=True)
class BargeInSettings:
    """The policy's knobs (the `[bargein]` config section maps onto these)."""

    strategy: str = "pause"
    threshold: float = 0.5  # VAD probability that counts a frame as voiced
    min_energy_dbfs: float = -50.0  # quieter frames never count as voiced
    pause_after_ms: int = 20  # voiced run before the bot pauses (`pause`) or listening starts
    min_speech_ms: int = 160  # voiced speech before the first quick STT and any interruption
    min_words: int = 1  # words (not in `ignore_words`) that make an interruption
    confirm_ms: int = 900  # voiced speech that interrupts whatever the words
    end_silence_ms: int = 120  # silence that ends the speech over the bot
    # A pause never lasts longer: still undecided, the bot plays on and the policy keeps
    # listening (words that interrupt still stop it). A hold past ~300 ms is heard as a stop.
    max_pause_ms: int = 300
    # What a pause that reached max_pause_ms without a decision becomes while the caller still
    # speaks: "resume" (play on, keep listening) or "interrupt" (so much speech is a turn).
    undecided: str = "interrupt"
    ignore_words: tuple[str, ...] = DEFAULT_IGNORE_WORDS
    # Voiced speech added since the last quick STT before the next is asked for (each one
    # covers the whole snippet so far; one runs at a time).
    stt_every_ms: int = 60
    # Words the quick STT was less sure of (average log-probability) never interrupt.
    min_logprob: float = -1.45

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r} (known: {', '.join(STRATEGIES)})")
        if self.undecided not in ("resume", "interrupt"):
            raise ValueError(f"undecided must be 'resume' or 'interrupt', got {self.undecided!r}")


@dataclass(frozen=True)
class Decision:
    """What the policy decided, when, why, and on which inputs (recorded in the turn trace)."""

    kind: str  # pause | resume | interrupt | ignore | defer | transcribe
    at_ns: int
    reason: str
    inputs: dict[str, Any] = field(default_factory=dict)
    snippet: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.kind, "at_ns": self.at_ns, "reason": self.reason, **self.inputs}


def frame_energy_dbfs(pcm: np.ndarray) -> float:
    """RMS level of an int16 frame in dB below full scale (-120 for digital silence)."""
    if len(pcm) == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
    return -120.0 if rms < 1e-3 else round(float(20 * np.log10(rms / 32768.0)), 1)


def classify_words(
    text: str, ignore_words: tuple[str, ...], partial: bool = False
) -> tuple[list[str], list[str]]:
    """(all words, words that count) of a transcript: non-speech tags and `ignore_words`
    phrases (matched whole, multi-word ones as sequences) do not count.

    `partial`: the speech is still going on, so words that end the transcript and begin an
    ignored phrase ("I" of "I see", "got" of "got it") are left out of both lists: not yet
    known to be a backchannel or an interruption."""
    cleaned = _NON_SPEECH.sub(" ", text.lower())
    words = _WORD.findall(cleaned)
    phrases = sorted((tuple(_WORD.findall(p.lower())) for p in ignore_words), key=len, reverse=True)
    counted: list[str] = []
    index = 0
    while index < len(words):
        rest = tuple(words[index:])
        if partial and any(len(rest) < len(p) and p[: len(rest)] == rest for p in phrases):
            del words[index:]  # not known yet: neither a backchannel nor an interruption
            break
        for phrase in phrases:
            if phrase and tuple(words[index : index + len(phrase)]) == phrase:
                index += len(phrase)
                break
        else:
            counted.append(words[index])
            index += 1
    return words, counted


@dataclass
class _Speech:
    """The caller's speech over the bot, from its first voiced frame."""

    start_ns: int
    frames: list[np.ndarray] = field(default_factory=list)
    voiced_ms: int = 0
    last_voiced_ns: int = 0
    peak_dbfs: float = -120.0
    max_probability: float = 0.0
    stt_pending: bool = False
    stt_voiced_ms: int = 0  # voiced ms the last requested transcription covered
    transcript: str | None = None
    evidence: str = ""  # the transcript less what counts for nothing (phantoms)
    transcript_final: bool = False  # the transcription covered the whole speech
    logprob: float | None = None  # the quick STT's average log-probability, where it gives one
    ended: bool = False


class BargeInPolicy:
    """One per session. States: `idle` (bot silent), `listening` (bot speaking, caller not),
    `paused` (bot held, judging), `watching` (bot playing, judging), `dropping` (the current
    speech was judged not to interrupt; wait for it to end), `interrupted` (until the bot's turn
    is over)."""

    def __init__(self, settings: BargeInSettings | None = None) -> None:
        self.settings = settings or BargeInSettings()
        self.release_threshold = max(self.settings.threshold - 0.15, 0.01)
        self.state = "idle"
        self.interruptible = True
        self.paused_since_ns: int | None = None
        self.paused_ms_total = 0.0
        self.resumed = 0
        self._run: list[np.ndarray] = []  # voiced run before the speech is taken seriously
        self._run_start_ns = 0
        self._speech: _Speech | None = None

    # -- bot state -----------------------------------------------------------------------------

    def bot_started(self, interruptible: bool = True) -> None:
        """The bot's reply started playing; `interruptible=False` for a reply heard whole."""
        self.state = "listening"
        self.interruptible = interruptible
        self.paused_since_ns = None
        self.paused_ms_total = 0.0
        self.resumed = 0
        self._reset_speech()

    def bot_stopped(self, now_ns: int) -> None:
        """The bot's reply is over (played out, cancelled or interrupted)."""
        self._end_pause(now_ns)
        self.state = "idle"
        self._reset_speech()

    @property
    def judging(self) -> bool:
        """Speech over the bot is being judged (neither confirmed nor dismissed yet)."""
        return self.state in ("paused", "watching")

    # -- inputs --------------------------------------------------------------------------------

    def push_frame(self, pcm: np.ndarray, probability: float, media_time_ns: int) -> list[Decision]:
        """One 20 ms input frame with its VAD probability; `media_time_ns` is its capture time."""
        if self.state in ("idle", "interrupted"):
            return []
        end_ns = media_time_ns + FRAME_MS * 1_000_000
        energy = frame_energy_dbfs(pcm)
        if self.state in ("listening", "dropping"):
            return self._push_listening(pcm, probability, energy, media_time_ns, end_ns)
        speech = self._speech
        assert speech is not None
        voiced = probability >= self.release_threshold and energy >= self.settings.min_energy_dbfs
        speech.frames.append(pcm)
        if voiced:
            speech.ended = speech.transcript_final = False  # the speech goes on after all
            speech.voiced_ms += FRAME_MS
            speech.last_voiced_ns = end_ns
            speech.peak_dbfs = max(speech.peak_dbfs, energy)
            speech.max_probability = max(speech.max_probability, probability)
        elif not speech.ended and end_ns - speech.last_voiced_ns >= self._ms(
            self.settings.end_silence_ms
        ):
            speech.ended = True
        return self._judge(end_ns)

    def transcript(
        self,
        text: str,
        now_ns: int,
        final: bool,
        speech_ns: int | None = None,
        logprob: float | None = None,
    ) -> list[Decision]:
        """The quick STT's result for the snippet requested last (`final`: the whole speech).

        `speech_ns`, the `transcribe` request's, makes sure a late result for earlier speech
        is not taken for the current one. `logprob`, the decoder's average log-probability
        where the STT gives one: below `min_logprob` the words cannot interrupt (on a
        fraction of a second Whisper writes a plausible word for a hum)."""
        speech = self._speech
        if speech is None or not self.judging:
            return []
        if speech_ns is not None and speech_ns != speech.start_ns:
            return []
        speech.stt_pending = False
        speech.transcript = text
        speech.logprob = logprob
        # Phantom words are no evidence at all: neither an interruption nor a backchannel.
        phantoms = speech.stt_voiced_ms < PHANTOM_BELOW_MS
        speech.evidence = " ".join(classify_words(text, STT_PHANTOMS)[1]) if phantoms else text
        # A snippet that covered every voiced frame of speech that has ended is the whole of it.
        speech.transcript_final = final or (
            speech.ended and speech.stt_voiced_ms >= speech.voiced_ms
        )
        return self._judge(now_ns)

    # -- judgement -----------------------------------------------------------------------------

    def _push_listening(
        self, pcm: np.ndarray, probability: float, energy: float, start_ns: int, end_ns: int
    ) -> list[Decision]:
        voiced = probability >= self.settings.threshold and energy >= self.settings.min_energy_dbfs
        if self.state == "dropping":
            # The speech judged harmless goes on: only its end lets the next one be judged.
            if self._speech is not None and (
                probability >= self.release_threshold and energy >= self.settings.min_energy_dbfs
            ):
                self._speech.last_voiced_ns = end_ns
                return []
            if self._speech is None or end_ns - self._speech.last_voiced_ns >= self._ms(
                self.settings.end_silence_ms
            ):
                self.state = "listening"
                self._reset_speech()
            return []
        if not voiced:
            self._run = []
            return []
        if not self._run:
            self._run_start_ns = start_ns
        self._run.append(pcm)
        if len(self._run) * FRAME_MS < self.settings.pause_after_ms:
            return []
        speech = _Speech(start_ns=self._run_start_ns, frames=list(self._run))
        speech.voiced_ms = len(self._run) * FRAME_MS
        speech.last_voiced_ns = end_ns
        speech.peak_dbfs = energy
        speech.max_probability = probability
        self._speech = speech
        self._run = []
        inputs = self._inputs(end_ns)
        if self.settings.strategy == "pause" and self.interruptible:
            self.state = "paused"
            self.paused_since_ns = end_ns
            return [Decision("pause", end_ns, "voiced frames over the bot", inputs)]
        self.state = "watching"
        return []

    def _judge(self, now_ns: int) -> list[Decision]:
        speech = self._speech
        assert speech is not None
        s = self.settings
        decisions: list[Decision] = []
        words, counted = classify_words(speech.evidence, s.ignore_words, partial=not speech.ended)
        sure = speech.logprob is None or speech.logprob >= s.min_logprob
        if speech.voiced_ms >= s.confirm_ms:
            return self._confirm(now_ns, f"{speech.voiced_ms} ms of speech")
        if speech.voiced_ms >= s.min_speech_ms and len(counted) >= s.min_words:
            if sure:
                return self._confirm(now_ns, f"{len(counted)} word(s) that interrupt")
            words = counted = []  # unsure words: no evidence either way
        if speech.ended and speech.voiced_ms < s.min_speech_ms:
            return self._dismiss(now_ns, "too short to be an interruption")
        if speech.ended and speech.transcript_final:
            reason = "backchannel" if words else "no words (noise)"
            return self._dismiss(now_ns, reason)
        if (
            self.state == "paused"
            and speech.transcript is not None
            and sure
            and words
            and not counted
            and not speech.stt_pending
        ):
            # A backchannel so far and still speaking: play on, keep watching the speech.
            self._end_pause(now_ns)
            self.state = "watching"
            self.resumed += 1
            decisions.append(Decision("resume", now_ns, "backchannel so far", self._inputs(now_ns)))
        if self.state == "paused" and self.paused_since_ns is not None:
            if now_ns - self.paused_since_ns >= self._ms(s.max_pause_ms):
                if speech.ended:
                    return self._dismiss(now_ns, "paused too long: the speech is over")
                if s.undecided == "interrupt" and speech.voiced_ms >= s.min_speech_ms:
                    return self._confirm(now_ns, "paused too long: still speaking")
                self._end_pause(now_ns)
                self.state = "watching"
                self.resumed += 1
                decisions.append(
                    Decision(
                        "resume", now_ns, "undecided: play on, keep listening", self._inputs(now_ns)
                    )
                )
        if not speech.stt_pending and speech.voiced_ms >= s.min_speech_ms:
            need_final = speech.ended and not speech.transcript_final
            if need_final or speech.voiced_ms >= speech.stt_voiced_ms + s.stt_every_ms:
                speech.stt_pending = True
                speech.stt_voiced_ms = speech.voiced_ms
                decisions.append(
                    Decision(
                        "transcribe",
                        now_ns,
                        "final snippet" if speech.ended else "snippet so far",
                        {
                            "final": speech.ended,
                            "voiced_ms": speech.voiced_ms,
                            "speech_ns": speech.start_ns,
                        },
                        snippet=np.concatenate(speech.frames),
                    )
                )
        return decisions

    def _confirm(self, now_ns: int, reason: str) -> list[Decision]:
        inputs = self._inputs(now_ns)
        self._end_pause(now_ns)
        if not self.interruptible:
            self.state = "dropping"
            return [Decision("defer", now_ns, f"{reason}; the reply is heard whole", inputs)]
        self.state = "interrupted"
        self._reset_speech()
        return [Decision("interrupt", now_ns, reason, inputs)]

    def _dismiss(self, now_ns: int, reason: str) -> list[Decision]:
        inputs = self._inputs(now_ns)
        was_paused = self.state == "paused"
        self._end_pause(now_ns)
        speech = self._speech
        if speech is not None and speech.ended:
            self.state = "listening"
            self._reset_speech()
        else:
            self.state = "dropping"
        if was_paused:
            self.resumed += 1
            return [Decision("resume", now_ns, reason, inputs)]
        return [Decision("ignore", now_ns, reason, inputs)]

    # -- helpers -------------------------------------------------------------------------------

    def _end_pause(self, now_ns: int) -> None:
        if self.paused_since_ns is not None:
            self.paused_ms_total += (now_ns - self.paused_since_ns) / 1e6
            self.paused_since_ns = None

    def _inputs(self, now_ns: int) -> dict[str, Any]:
        speech = self._speech
        if speech is None:
            return {"strategy": self.settings.strategy}
        inputs: dict[str, Any] = {
            "strategy": self.settings.strategy,
            "speech_ms": round((now_ns - speech.start_ns) / 1e6, 1),
            "voiced_ms": speech.voiced_ms,
            "peak_dbfs": speech.peak_dbfs,
            "max_vad": round(speech.max_probability, 3),
            "ended": speech.ended,
        }
        if speech.transcript is not None:
            inputs["transcript"] = speech.transcript
            if speech.logprob is not None:
                inputs["logprob"] = round(speech.logprob, 2)
            inputs["words"] = len(classify_words(speech.transcript, self.settings.ignore_words)[1])
        if self.paused_since_ns is not None:
            inputs["paused_ms"] = round((now_ns - self.paused_since_ns) / 1e6, 1)
        if not self.interruptible:
            inputs["interruptible"] = False
        return inputs

    def _reset_speech(self) -> None:
        self._speech = None
        self._run = []

    @staticmethod
    def _ms(ms: int) -> int:
        return ms * 1_000_000
