"""Whether the caller's words hand the agent a long task, ask how one is going, or cancel it.

The local default LLM (Gemma 3 270M, a base model) is no reliable judge of free text, and
asking it would cost a model call on every turn. A request for a long task has a form a
few patterns catch: a request (an imperative, "can you ...", "I need you to ...") whose verb
is an errand (book, order, research, file, schedule ...), and not a question about one ("how do
I book ...", "what time does ... open") nor a report of one done ("I booked ..."). Sans-IO and
pure: words in, a decision out, in microseconds (`voice bench --delegation` measures both the
precision/recall on bench/corpus/delegation and the cost).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Intent = Literal["delegate", "status", "cancel"]


@dataclass(frozen=True)
class Decision:
    intent: Intent
    kind: str = ""  # delegate: booking, research, filing, ordering, scheduling


# An errand verb (with the object it needs where the verb alone is too common), by kind.
_ERRANDS: tuple[tuple[str, str], ...] = (
    ("booking", r"(book|reserve)\b"),
    ("booking", r"get (me |us )?(\w+ ){0,3}(tickets?|a table|a room|a ride|a taxi|a cab)\b"),
    ("research", r"(research|look into|dig into|find out|compare|investigate)\b"),
    ("research", r"find (me|us) (a|an|some|the|two|three)\b"),
    ("filing", r"(file|submit|dispute)\b"),
    ("filing", r"(open|raise|start) (a|an) (complaint|claim|ticket|case|dispute)\b"),
    ("filing", r"(return|refund) (the|my|this|these)\b"),
    ("filing", r"cancel (my|our) \w+"),
    ("ordering", r"(order|buy|purchase)\b"),
    ("ordering", r"get (\w+ ){1,3}delivered\b"),
    ("scheduling", r"(schedule|arrange|organi[sz]e)\b"),
    ("scheduling", r"set up (a|an) (call|meeting|appointment)\b"),
    ("scheduling", r"make (me )?(a|an) (appointment|reservation|booking)\b"),
)
# What may come before the verb of a request: nothing (an imperative), politeness, or a
# "you" request form.
_LEAD = (
    r"^(?:(?:okay|ok|so|and|hey|alright|right|now|then|also)\W+)*(?:please\W+)?"
    r"(?:(?:can|could|would|will) you (?:please )?(?:also )?"
    r"|i(?: need| want| would like|'d like) you to (?:also )?"
    r"|(?:please )?(?:go ahead and |help me )?)?"
)
_REQUESTS = tuple(
    (kind, re.compile(_LEAD + verb, re.IGNORECASE)) for kind, verb in _ERRANDS
)  # fmt: skip
# "I need a hotel room": a need for something only an errand gets.
_NEEDS = re.compile(
    r"^(?:please\W+)?i(?: need| want|'d like| would like) (?:a|an|two|three|four) "
    r"(?:\w+ ){0,2}(?:room|table|flight|ticket|tickets|ride|taxi|car|appointment)\b",
    re.IGNORECASE,
)
_STATUS = re.compile(
    r"\b(how('s| is| are) (it|that|things|the \w+) (going|coming along)"
    r"|any (news|update|progress)|what'?s the status|is it (done|ready|finished)"
    r"|did you (manage|finish|get it)|how far along)\b",
    re.IGNORECASE,
)
_CANCEL = re.compile(
    r"^(?:(?:no|oh|actually|wait|okay|ok)\W+)*(?:please\W+)?"
    r"(cancel (that|it|this|the (task|request|booking|order|search|research|claim))"
    r"|stop (that|it|this|the (task|request|search))|never ?mind|forget (it|about it|that)"
    r"|don'?t (bother|do (that|it)))\b",
    re.IGNORECASE,
)


def _normalize(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split()).strip(" ,")


def decide(text: str) -> Decision | None:
    """What the words ask of the delegation, or None: an ordinary turn for the LLM."""
    words = _normalize(text)
    if _CANCEL.search(words):
        return Decision("cancel")
    if _STATUS.search(words):
        return Decision("status")
    for kind, pattern in _REQUESTS:
        if pattern.search(words):
            return Decision("delegate", kind)
    if _NEEDS.search(words):
        return Decision("delegate", "booking")
    return None
