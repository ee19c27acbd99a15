"""Honest by construction: a request for live data or an action starts with "Sorry, I can't".

The local models have no tools, no internet and no clock, yet a 135M-270M model asked for the
weather or a booking answers as if it had them ("It's sunny and 20 degrees", "Your table is
booked"), whatever its prompt says. So the reply to such a request is started for the model:
the opening words are spoken first and the model only continues them ("... check live weather
from here."), which it does well. Sans-IO: text in, the opening (or None) out.

The categories are those the system prompt names (live data: weather, news, prices, scores,
the time; actions: bookings, orders, calls and messages, alarms and reminders, devices,
accounts). Each rule needs a request form, not just a topic word, so "what is a stock" or
"I read a book" are left to the model; `voice eval` (docs/replies.md) measures what it gains
and what it costs on the questions the agent can answer.
"""

from __future__ import annotations

import re

OPENING = "Sorry, I can't"

_LIVE = (
    r"\bweather\b", r"\bforecast\b", r"\b(is it|will it|going to) (rain|snow)\b",
    r"\btemperature (outside|today|now|right now)\b",
    r"\b(news|headlines)\b",
    r"\b(who won|what was the score|the score of|final score)\b",
    r"\b(stock|share) price\b", r"\bexchange rate\b", r"\bprice of (bitcoin|gold|oil)\b",
    r"\btraffic\b",
    r"\bwhat time is it\b", r"\bwhat'?s the time( now| right now)?\W*$",
    r"\btime is it (right )?now\b",
    r"\bwhat'?s the date today\b",
)  # fmt: skip
_ACTIONS = (
    r"\b(book|reserve) (me |us )?(a|an|the|two|three|four|some)\b",
    r"\border (me |us )?(a|an|some|the|two|three)\b",
    r"\bset (me )?(an?|the) (alarm|timer|reminder)\b", r"\bremind me\b", r"\bwake me\b",
    r"\b(?i:call|phone|ring|text|message|email) ((?i:my|mom|mum|dad|him|her|them)\b|[A-Z][a-z]+)",
    r"\bsend (a |an )?(text|message|email)\b",
    r"\bturn (on|off) the\b", r"\bswitch (on|off) the\b", r"\bdim the lights\b",
    r"\b(my|the) (bank )?(account )?balance\b", r"\b(pay|transfer) (my|the|\$)\b",
)  # fmt: skip
# a name ("call Alex") is told from a word by its capital, so that rule alone keeps its case
_RULES = tuple(re.compile(p, re.IGNORECASE) for p in _LIVE) + tuple(
    re.compile(p) if "[A-Z]" in p else re.compile(p, re.IGNORECASE) for p in _ACTIONS
)


def reply_opening(user_text: str) -> str | None:
    """The words the reply must start with, or None to leave the reply to the model."""
    text = " ".join(user_text.split())
    if any(rule.search(text) for rule in _RULES):
        return OPENING
    return None
