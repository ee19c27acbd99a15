"""Which workflow a request's text asks for, and its arguments (sans-IO).

The agent forwards the user's words as they were said; a few keywords are enough to tell a
booking from a research question, and the rest of the text fills the arguments. Pure
functions of the text, so the routing is tested without a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOOKING_WORDS = re.compile(r"\b(book|booking|reserve|reservation|table)\b", re.IGNORECASE)
_RESEARCH_WORDS = re.compile(
    r"\b(research|find out|look up|look into|investigate|what|why|how|who|when|where)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_PARTY = re.compile(
    r"\bfor\s+(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\b(?!\s*(?:am|pm|:|o'clock))",
    re.IGNORECASE,
)
_TIME = re.compile(
    r"\b(?:at\s+)?(\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2}|\d{1,2}\s*o'clock)",
    re.IGNORECASE,
)
_DAY = re.compile(r"\b(today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|"
                  r"saturday|sunday)\b", re.IGNORECASE)  # fmt: skip
_PLACE = re.compile(
    r"\b(?:at|in)\s+((?:[A-Z][\w'&-]*\s?){1,4})",
)

# Longest request kept; a voice turn is a sentence or two, more is a client bug or abuse.
MAX_REQUEST_CHARS = 2000


@dataclass(frozen=True)
class BookingRequest:
    """Arguments of the "book a table" saga."""

    text: str
    restaurant: str
    party_size: int
    when: str


@dataclass(frozen=True)
class ResearchRequest:
    """Arguments of the "research a question" task."""

    text: str
    question: str


def route_request(text: str) -> BookingRequest | ResearchRequest | None:
    """The workflow a request asks for; None when it asks for nothing this harness does."""
    text = " ".join(text.split())[:MAX_REQUEST_CHARS]
    if not text:
        return None
    if _BOOKING_WORDS.search(text):
        return _booking(text)
    if _RESEARCH_WORDS.search(text) or text.endswith("?"):
        question = re.sub(
            r"^(please\s+)?(can you\s+|could you\s+)?(research|find out|look up|look into|"
            r"investigate)\s*(about\s+|on\s+|whether\s+)?",
            "",
            text,
            flags=re.IGNORECASE,
        )
        return ResearchRequest(text=text, question=question.strip() or text)
    return None


def _booking(text: str) -> BookingRequest:
    party_size = 2
    party = _PARTY.search(text)
    if party:
        word = party.group(1).lower()
        party_size = int(word) if word.isdigit() else _NUMBER_WORDS[word]
    time_match = _TIME.search(text)
    day_match = _DAY.search(text)
    when = " ".join(
        part
        for part in (
            day_match.group(1).lower() if day_match else "",
            time_match.group(1) if time_match else "",
        )
        if part
    )
    restaurant = "the stand-in bistro"
    for place in _PLACE.finditer(text):
        name = place.group(1).strip()
        if name and not name[0].isdigit():
            restaurant = name
            break
    return BookingRequest(
        text=text, restaurant=restaurant, party_size=max(1, party_size), when=when or "tonight"
    )
