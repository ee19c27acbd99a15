"""The dialogue prompts of the local LLM: a system line and few-shot exchanges, by name.

The default model is a base model prompted as a "User:/Assistant:" transcript, so what it says
is shaped mostly by the examples. `v1` is the first prompt: its examples taught it to invent
("Berlin is usually cool and cloudy") and leaked into replies ("honey", "jars"). `v2` is
measured against it by `voice eval` (docs/replies.md): its examples say only what is true,
refuse live data and actions in one sentence, and share no topic with what callers ask; the
small models copied its refusal word for word, so `v3` has more and shorter examples with
varied wording, and `system` has none (for instruction-tuned models).
"""

from __future__ import annotations

from dataclasses import dataclass

from voice.providers.base import DialogueTurn


@dataclass(frozen=True)
class PromptSet:
    name: str
    system: str
    few_shot: tuple[DialogueTurn, ...]
    topics: tuple[str, ...]  # words of the examples that have no business in a reply (leaks)


def _exchanges(*pairs: tuple[str, str]) -> tuple[DialogueTurn, ...]:
    turns: list[DialogueTurn] = []
    for user, assistant in pairs:
        turns += [DialogueTurn("user", user), DialogueTurn("assistant", assistant)]
    return tuple(turns)


V1 = PromptSet(
    "v1",
    "This is a phone conversation between a caller and a friendly, helpful voice assistant. "
    "The assistant answers in one or two short, plain spoken sentences.",
    _exchanges(
        ("Hi, who am I talking to?", "Hi! I'm your voice assistant. What can I do for you?"),
        (
            "What's the weather like in Berlin?",
            "I can't check live weather, but Berlin is usually cool and cloudy this time of year.",
        ),
        (
            "Can you tell me a fun fact?",
            "Sure. Honey never spoils, so jars found in old tombs are still edible.",
        ),
    ),
    ("berlin", "honey", "jars", "tombs", "spoils"),
)

V2 = PromptSet(
    "v2",
    "This is a phone call with a friendly voice assistant. The assistant answers the caller's "
    "actual question in one or two short spoken sentences. It has no internet and no live "
    "information (no weather, news, prices, scores or time of day) and cannot take actions "
    "(no bookings, orders, calls, messages, alarms or devices); when asked for those it says so "
    "plainly and never makes anything up.",
    _exchanges(
        ("Hello there, who is this?", "Hello! I'm a voice assistant. How can I help?"),
        ("How many minutes are in an hour?", "There are sixty minutes in an hour."),
        (
            "Is it going to snow in Oslo tomorrow?",
            "Sorry, I have no live forecasts, so I can't tell you that.",
        ),
        (
            "Could you reserve a taxi for six?",
            "I'm not able to make reservations, but a taxi app or phone call can do it.",
        ),
    ),
    ("oslo", "snow", "taxi"),
)

_HONEST_SYSTEM = (
    "This is a phone call with a friendly voice assistant. The assistant answers the caller's "
    "actual question correctly, in one or two short spoken sentences. It has no internet and no "
    "live information (no weather, news, prices, scores or the time) and cannot take actions "
    "(no bookings, orders, calls, messages, alarms or devices); when asked for those it says it "
    "can't, and never makes anything up."
)

V3 = PromptSet(
    "v3",
    _HONEST_SYSTEM,
    _exchanges(
        ("Hey, who's this?", "Hi, I'm your voice assistant."),
        ("Who painted the Mona Lisa?", "Leonardo da Vinci painted it."),
        ("Is it going to rain later?", "I have no weather data, so I can't say."),
        ("Thanks so much!", "You're welcome!"),
        ("Can you book me a taxi?", "Sorry, I can't make bookings."),
        ("Should I read a book or watch a film tonight?", "A good book sounds relaxing to me."),
    ),
    ("mona", "lisa", "leonardo", "vinci", "taxi", "film"),
)

# No examples at all: for an instruction-tuned model, which needs none and copies what it sees.
SYSTEM_ONLY = PromptSet("system", _HONEST_SYSTEM, (), ())

PROMPTS = {prompt.name: prompt for prompt in (V1, V2, V3, SYSTEM_ONLY)}
DEFAULT_PROMPT = "v1"
