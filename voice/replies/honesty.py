"""Honest by construction: a request for live data or an action gets a one-sentence "I can't".

The local models have no tools, no internet and no clock, yet a 135M-270M model asked for the
weather or a booking answers as if it had them ("It's sunny and 20 degrees", "Your table is
booked"), whatever its prompt says, and asked to continue "Sorry, I can't" it still wanders
("... eat it."). So such a request is answered here, in one sentence that names what the agent
cannot do, and the LLM is not asked at all (which also makes the reply immediate). Sans-IO:
the caller's words in, the reply (or None: the model answers) out.

The categories are those the system prompt names (live data: weather, news, scores, prices,
traffic, the time; actions: bookings, orders, alarms and reminders, calls and messages,
devices, accounts). Each rule needs a request form, not just a topic word, so "what is a
stock" or "I read a book" are left to the model; `voice eval` (docs/replies.md) measures what
it gains and what it costs on the questions the agent can answer.
"""

from __future__ import annotations

import re

# (what the agent cannot do, the request forms that ask for it)
_LIVE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("check the weather", (
        r"\bweather\b", r"\bforecast\b", r"\b(is it|will it|going to) (rain|snow)\b",
        r"\btemperature (outside|today|now|right now)\b",
    )),
    ("read the news", (r"\b(news|headlines)\b",)),
    ("look up results", (r"\b(who won|what was the score|the score of|final score)\b",)),
    ("look up prices", (
        r"\b(stock|share) price\b", r"\bexchange rate\b", r"\bprice of (bitcoin|gold|oil)\b",
    )),
    ("check the traffic", (r"\btraffic\b",)),
    ("see a clock", (
        r"\bwhat time is it\b", r"\bwhat'?s the time( now| right now)?\W*$",
        r"\btime is it (right )?now\b", r"\bwhat'?s the date today\b",
    )),
)  # fmt: skip
_ACTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("make bookings", (r"\b(book|reserve) (me |us )?(a|an|the|two|three|four|some)\b",)),
    ("place orders", (r"\border (me |us )?(a|an|some|the|two|three)\b",)),
    ("set alarms or reminders", (
        r"\bset (me )?(an?|the) (alarm|timer|reminder)\b", r"\bremind me\b", r"\bwake me\b",
    )),
    ("call or message anyone", (
        # a name ("call Alex") is told from a word by its capital, so its case is kept
        r"\b(?i:call|phone|ring|text|message|email) "
        r"((?i:my|mom|mum|dad|him|her|them)\b|[A-Z][a-z]+)",
        r"\bsend (a |an )?(text|message|email)\b",
    )),
    ("control devices", (
        r"\b(turn|switch) (on|off) the\b", r"\bdim the lights\b",
    )),
    ("see your accounts", (
        r"\b(my|the) (bank )?(account )?balance\b", r"\b(pay|transfer) (my|the|\$)\b",
    )),
)  # fmt: skip


def _compile(pattern: str) -> re.Pattern[str]:
    # a rule that tells a name by its capital keeps its case; the others ignore it
    return re.compile(pattern) if "[A-Z]" in pattern else re.compile(pattern, re.IGNORECASE)


_RULES = tuple(
    (f"I'm sorry, I can't {what} from here.", tuple(_compile(p) for p in patterns))
    for what, patterns in _LIVE
) + tuple(
    (f"I'm sorry, I can't {what}; I can only talk.", tuple(_compile(p) for p in patterns))
    for what, patterns in _ACTIONS
)
# "I'm sorry," is a clause of its own (voice/pipeline/clauses.py cuts at a comma after two
# words), so the first audio is two words of TTS, not the whole sentence


def honest_reply(user_text: str) -> str | None:
    """The whole reply to a request the agent cannot serve, or None to let the model answer."""
    text = " ".join(user_text.split())
    for reply, patterns in _RULES:
        if any(p.search(text) for p in patterns):
            return reply
    return None
