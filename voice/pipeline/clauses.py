"""Cuts streaming LLM text into speakable clauses for TTS.

Piper synthesizes a sentence at a time and does not stream inside one, so the time to the first
audio grows with the first piece of text it is given. The first clause is therefore cut as
early as it can be spoken naturally (at a comma, colon, semicolon or dash once it has a couple
of words); later clauses are cut at sentence ends, or at a comma once they are long, so that
synthesis of clause n+1 overlaps playout of clause n.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
_CLAUSE_BREAK = re.compile(r"[,;:—–]\s|\s-\s")


class ClauseChunker:
    def __init__(self, first_min_words: int = 2, later_min_words: int = 8) -> None:
        self._buffer = ""
        self._emitted = 0
        self._first_min_words = first_min_words
        self._later_min_words = later_min_words

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the clauses that are now complete."""
        self._buffer += text
        clauses: list[str] = []
        while True:
            cut = self._find_cut()
            if cut is None:
                break
            clause = self._buffer[:cut].strip()
            self._buffer = self._buffer[cut:]
            if clause:
                clauses.append(clause)
                self._emitted += 1
        return clauses

    def flush(self) -> list[str]:
        """The end of the stream: whatever is left is the last clause."""
        rest = self._buffer.strip()
        self._buffer = ""
        if not rest or not any(ch.isalnum() for ch in rest):
            return []
        self._emitted += 1
        return [rest]

    def _find_cut(self) -> int | None:
        sentence = _SENTENCE_END.search(self._buffer)
        min_words = self._first_min_words if self._emitted == 0 else self._later_min_words
        for match in _CLAUSE_BREAK.finditer(self._buffer):
            if sentence is not None and sentence.start() < match.start():
                break
            if len(self._buffer[: match.start()].split()) >= min_words:
                return match.end()
        if sentence is not None:
            return sentence.end()
        return None


def split_clauses(text: str) -> list[str]:
    """Chunk a whole text at once (tests and non-streaming callers)."""
    chunker = ClauseChunker()
    return chunker.push(text) + chunker.flush()
