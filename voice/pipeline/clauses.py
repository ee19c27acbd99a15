"""Cuts streaming LLM text into speakable clauses for TTS.

Piper synthesizes a sentence at a time and does not stream inside one, so the time to the first
audio grows with the first piece of text it is given. The first clause is therefore cut as
early as it can be spoken naturally (at a comma, colon, semicolon or dash once it has a couple
of words); later clauses are cut at sentence ends, or at a comma once they are long, so that
synthesis of clause n+1 overlaps playout of clause n.

A sentence mark at the very end of the text so far ends the clause at once, without waiting
for the space after it: the LLM's stream holds back a newline that may begin its stop sequence
("\nUser:"), so the last sentence of a reply ("Hello World!") otherwise waited two more tokens
for the stream's end. A full stop after a number, a single letter or a known abbreviation
("3.", "U.", "Dr.") waits, since more may follow.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
_CLAUSE_BREAK = re.compile(r"[,;:—–]\s|\s-\s")
_MARK_AT_END = re.compile(r"(\w+)([.!?…]+)[\"')\]]*$")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "jr", "sr", "prof", "approx"}
)


def _sentence_ends_here(text: str) -> bool:
    """The text so far ends with a sentence mark that nothing can continue."""
    match = _MARK_AT_END.search(text)
    if match is None:
        return False
    word, marks = match.group(1), match.group(2)
    if marks != ".":
        return True  # "!", "?", "…", "?!", "...": no number or abbreviation goes on after them
    return not (word.isdigit() or len(word) == 1 or word.lower() in _ABBREVIATIONS)


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
        if _sentence_ends_here(self._buffer):
            return len(self._buffer)
        return None


def split_clauses(text: str) -> list[str]:
    """Chunk a whole text at once (tests and non-streaming callers)."""
    chunker = ClauseChunker()
    return chunker.push(text) + chunker.flush()
