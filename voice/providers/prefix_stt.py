"""Transcribe only what is new: reuse the transcript of an earlier pause of the same utterance.

At every pause the session's speculative chain transcribes the whole utterance so far. In a
long turn with holds ("That is to say ... much of political philosophy ... develops
theories ...") each pause re-transcribes everything before it, so the STT at the true end
costs as much as the whole turn (1.1-1.3 s for a 20 s turn on this machine) and the
end-of-turn decision and the reply both wait for it. The audio at a later pause always
starts with the audio of the earlier one (the endpointer hands the utterance from its first
frame), so the earlier transcript stays valid for that prefix: only the rest needs decoding.

This wrapper keeps the last few (audio, transcript) pairs it produced, and when a new
utterance starts with one of them, exactly, transcribes only the remainder and joins the two.
A remainder shorter than `min_tail_s` is not split off (Whisper invents words on a fraction
of a second without context); the longest prefix that leaves enough audio is used. The match
is on the samples themselves, so sessions that share the model cannot mix their utterances.
Written by hand: no library caches transcripts by audio prefix.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE
from voice.providers.base import STT

KEPT = 16  # (audio, transcript) pairs remembered, across sessions


def join_transcripts(head: str, tail: str) -> str:
    """The prefix's text and the remainder's, as one line: Whisper ends a segment with a full
    stop or an ellipsis wherever it stops, which inside a sentence says nothing."""
    head, tail = head.strip(), tail.strip()
    if not head or not tail:
        return head or tail
    head = head.rstrip(".…").rstrip()
    if head and head[-1] not in "?!" and tail[:1].isupper() and not _keeps_capital(tail):
        tail = tail[0].lower() + tail[1:]
    return f"{head} {tail}".strip()


def _keeps_capital(text: str) -> bool:
    first = text.split(maxsplit=1)[0].rstrip(",.?!;:")
    return first == "I" or first.startswith("I'") or (len(first) > 1 and first.isupper())


class PrefixReuseSTT:
    """An STT that transcribes only the part of an utterance it has not transcribed yet."""

    def __init__(self, inner: STT, min_tail_s: float = 1.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.min_tail_samples = round(min_tail_s * SAMPLE_RATE)
        self._kept: deque[tuple[np.ndarray, str]] = deque(maxlen=KEPT)
        self._lock = threading.Lock()
        self.reused = 0  # calls that decoded only a remainder (the tests read it)

    def transcribe(self, pcm: np.ndarray) -> str:
        prefix = self._longest_prefix(pcm)
        if prefix is None:
            text = self.inner.transcribe(pcm)
        else:
            head_audio, head_text = prefix
            tail = self.inner.transcribe(pcm[len(head_audio) :])
            text = join_transcripts(head_text, tail)
            self.reused += 1
        with self._lock:
            self._kept.append((pcm.copy(), text))
        return text

    def _longest_prefix(self, pcm: np.ndarray) -> tuple[np.ndarray, str] | None:
        with self._lock:
            kept = list(self._kept)
        best: tuple[np.ndarray, str] | None = None
        for audio, text in kept:
            if len(pcm) - len(audio) < self.min_tail_samples or not text.strip():
                continue
            if best is not None and len(audio) <= len(best[0]):
                continue
            if np.array_equal(pcm[: len(audio)], audio):
                best = (audio, text)
        return best

    def __getattr__(self, name: str) -> Any:  # transcribe_partial, transcribe_snippet, options
        return getattr(self.inner, name)
