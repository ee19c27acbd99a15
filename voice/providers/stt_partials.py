"""Partial transcripts while the user speaks: when to run one, and which words are stable.

A sans-IO policy. The session tells it how much utterance audio it holds (and the time); it
answers "run a partial now on the first N samples" at most every `every_ms` of new speech, and
never while a partial is still running (two STT calls would fight for the 2 cores and the
final pass at the pause would queue behind a stale partial). The session runs the request on
the STT worker (`WhisperSTT.transcribe_partial`), then reports the text back with `done()`.

Why partials: the end-of-turn decision gets words to read before the pause. Words on which
two consecutive partials agree (LocalAgreement-2, as in whisper_streaming), less the last one
(it may be cut mid-word), are `stable`. They can be passed as `prefix` to
`WhisperSTT.transcribe_detailed` at the pause, but measured on CTranslate2 4.8 that saves no
time (the forced tokens are still decoded one step each) and did not change the words, so
the final pass is best run without it (docs/stt.md).

Typical wiring::

    policy = PartialPolicy()
    request = policy.push(total_samples=len(utterance_pcm), now_ns=frame_time)
    if request:                                   # on the STT worker thread:
        text = stt.transcribe_partial(utterance_pcm[: request.samples])
        policy.done(request, text)                # -> policy.latest, policy.stable
    ...
    final = stt.transcribe(utterance_pcm)
    policy.reset()
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voice.audio import SAMPLE_RATE


@dataclass(frozen=True)
class PartialRequest:
    """Run a partial transcript on the first `samples` samples of the utterance."""

    seq: int
    samples: int
    at_ns: int


def _words(text: str) -> list[str]:
    return text.split()


def _key(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def agreed_prefix(previous: str, current: str) -> str:
    """The words two consecutive partials agree on, from the start (case/punctuation-blind).

    The current partial's spelling is kept: it heard more audio.
    """
    prev, cur = _words(previous), _words(current)
    n = 0
    while n < min(len(prev), len(cur)) and _key(prev[n]) == _key(cur[n]):
        n += 1
    return " ".join(cur[:n])


class PartialPolicy:
    """When to run partial transcripts, and the stable words they agree on."""

    def __init__(
        self, every_ms: int = 500, min_audio_ms: int = 700, max_audio_s: float = 28.0
    ) -> None:
        self.every_samples = every_ms * SAMPLE_RATE // 1000
        self.min_samples = min_audio_ms * SAMPLE_RATE // 1000
        self.max_samples = int(max_audio_s * SAMPLE_RATE)
        self.reset()

    def reset(self) -> None:
        """Forget the utterance (call at turn end, or when the turn is abandoned)."""
        self._seq = 0
        self._pending: PartialRequest | None = None
        self._last_samples = 0
        self.latest = ""  # the newest partial transcript
        self.stable = ""  # words two partials agree on, less the last one
        self.runs = 0

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def push(self, total_samples: int, now_ns: int) -> PartialRequest | None:
        """The utterance now holds `total_samples`; a request if a partial is due."""
        if self._pending is not None:
            return None
        if total_samples < self.min_samples or total_samples > self.max_samples:
            return None
        if self.runs and total_samples - self._last_samples < self.every_samples:
            return None
        self._seq += 1
        self._pending = PartialRequest(self._seq, total_samples, now_ns)
        self._last_samples = total_samples
        return self._pending

    def done(self, request: PartialRequest, text: str) -> None:
        """A partial finished. Results of a request from before `reset()` are ignored."""
        if self._pending is None or request.seq != self._pending.seq:
            return
        self._pending = None
        self.runs += 1
        agreed = _words(agreed_prefix(self.latest, text)) if self.runs > 1 else []
        # The last agreed word may still be growing ("book" -> "booking"): hold it back.
        self.stable = " ".join(agreed[:-1])
        self.latest = text

    def failed(self, request: PartialRequest) -> None:
        """The partial was cancelled or raised: allow the next one."""
        if self._pending is not None and request.seq == self._pending.seq:
            self._pending = None
