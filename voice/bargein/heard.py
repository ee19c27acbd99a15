"""What the caller heard of an interrupted reply: playout position -> words.

TTS speaks a reply clause by clause and the length of each clause's audio is known, so the
playout position (samples handed to the transport) falls inside one clause; within it the
audio is apportioned to the characters of its text. Only words whose last character was played
count as heard: the history then holds what the caller actually heard, not what was generated.
"""

from __future__ import annotations

from collections.abc import Sequence

INTERRUPTED_MARK = "—"


def heard_text(clauses: Sequence[tuple[str, int]], played_samples: int) -> str:
    """The words of `clauses` ((text, audio samples) in order) heard in `played_samples`."""
    heard: list[str] = []
    remaining = played_samples
    for text, samples in clauses:
        if remaining >= samples:
            heard.append(text)
            remaining -= samples
            continue
        if remaining > 0 and samples > 0 and text:
            played_chars = len(text) * remaining / samples
            words: list[str] = []
            position = 0
            for word in text.split():
                start = text.index(word, position)
                position = start + len(word)
                if position > played_chars:
                    break
                words.append(word)
            if words:
                heard.append(" ".join(words))
        break
    return " ".join(heard)


def mark_interrupted(text: str) -> str:
    """How an interrupted reply reads in the prompt: cut off mid-sentence, with a dash."""
    stripped = text.rstrip().rstrip(",;:.-")
    return f"{stripped}{INTERRUPTED_MARK}" if stripped else INTERRUPTED_MARK
