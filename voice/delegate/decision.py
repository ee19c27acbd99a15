"""Whether the caller's words hand the agent a long task, ask how one is going, or cancel it.

The local default LLM (Gemma 3 270M, a base model) is no reliable judge of free text, and
asking it would cost a model call on every turn. The decision has two halves, both cheap:

- **Rules** for the shape of a long task: an errand (a verb that acts in the world: book,
  order, file, chase up, ping ...; or a thing only an errand gets: a table, two tickets, a
  hotel) asked *of the agent*: after a word that addresses it ("you", "please", "for me",
  "let's", "I need ..."), as an imperative ("grab me a pizza"), or as a bare order with no verb
  ("two tickets saturday night show"). Not when the verb the request governs is talk ("can you
  tell me how to book ..."), nor when the words ask *about* an errand ("should I book early?")
  or report one ("we booked the venue last week"). They are precise, but every new set of
  callers brought phrasings they missed.
- **A learned classifier** (`learned.py`) over the words' n-grams, fitted on the request sets,
  which generalizes across phrasings; it decides what the rules leave open.

How well that holds on words neither half was fitted on is measured on blind request sets
(voice/delegate/requests and `voice bench --delegation`). Words in, a decision out, in under a
millisecond; the classifier is fitted once per process (`prepare()`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from voice.delegate.learned import THRESHOLD, RequestClassifier, default_classifier

Intent = Literal["delegate", "status", "cancel"]


@dataclass(frozen=True)
class Decision:
    intent: Intent
    kind: str = ""  # delegate: booking, research, filing, ordering, scheduling, contact


def _kinds(**words: str) -> dict[str, str]:
    return {word: kind for kind, listed in words.items() for word in listed.split()}


# Verbs that act in the world, by the kind of errand they start.
_ACTIONS = _kinds(
    booking="book rebook reserve",
    research="research investigate compare check verify confirm find locate source scout",
    filing="file submit lodge dispute return refund claim appeal apply register enroll enrol "
    "renew contest fill",
    ordering="order reorder buy purchase grab fetch get pay hire rent deliver ship send snag score",
    scheduling="schedule reschedule arrange organize organise plan coordinate postpone "
    "sort handle remind nudge set cancel push move",
    contact="call ring phone email e-mail text message contact notify ping chase",
)
# Verbs that need a particle or an object to be an errand: "look into", "make an appointment".
_WITH = {
    "look": ("research", {"into", "up", "for", "around"}),
    "dig": ("research", {"into", "up"}),
    "figure": ("research", {"out"}),
    "track": ("research", {"down"}),
    "reach": ("contact", {"out"}),
    "line": ("scheduling", {"up"}),
    "take": ("scheduling", {"care"}),
    "deal": ("scheduling", {"with"}),
    "follow": ("filing", {"up"}),
    "put": ("filing", {"in", "through"}),
    "pick": ("ordering", {"up"}),
    "top": ("ordering", {"up"}),
    "stock": ("ordering", {"up"}),
    "make": (
        "booking",
        {"appointment", "reservation", "booking", "payment", "claim", "order", "application"},
    ),
    "shop": ("research", {"around"}),
    "open": ("filing", {"complaint", "claim", "ticket", "case", "dispute", "account"}),
    "raise": ("filing", {"complaint", "claim", "ticket", "case", "dispute"}),
    "start": ("filing", {"complaint", "claim", "return", "refund", "application"}),
    "leave": ("contact", {"message", "voicemail", "note", "review"}),
    "drop": ("contact", {"line", "note", "message", "email"}),
}
# Verbs of the conversation itself: a request they govern is answered, not delegated.
_TALK = set(
    "tell say explain describe define repeat spell translate calculate count read sing talk"
    " speak chat hear listen help understand give recommend suggest guess answer think imagine"
    " pretend summarize summarise be stop wait hold go continue do know remember teach show"
    " write list name quiz play slow keep change turn believe"
    " ask".split()
)
# Things only an errand gets: "I need a hotel room", "two tickets saturday night show".
_THINGS = _kinds(
    booking="table tables room rooms hotel hotels flight flights ticket tickets seat seats "
    "appointment appointments reservation reservations booking haircut",
    ordering="ride taxi cab pizza pizzas delivery takeaway takeout groceries flowers rental car",
    scheduling="plumber electrician cleaner cleaners babysitter mover movers repair reminder",
    research="quote quotes",
    filing="claim refund application",
)
# Words that address the agent: a request follows them.
_ADDRESS = re.compile(
    r"\b(?:you|please|let's|for me|for us|i need|we need|i want|we want|i'd like|we'd like|"
    r"i would like|we would like|i'd love|i'll need|i have to|i've got to|i gotta|"
    r"we have to|what i need|all i need|go ahead and|do me a favou?r and|someone|somebody)\b"
)
_SKIPPED = set(
    "uh um erm er hmm oh ok okay so well right alright yeah yes and also actually now then "
    "like just please maybe quickly kindly possibly perhaps really to could can would will "
    "won't you me us for i we need want like 'd gonna go ahead and try to help mind it if "
    "someone somebody".split()
)
_STOP_AT = set("how what when where why whether which who if".split())
_FILLERS = set(
    "uh um erm er hmm hey hi hello oh ok okay so well right alright yeah yes and also actually "
    "now then like just listen anyway basically".split()
)
_AUXILIARIES = set(
    "is are was were am be been do does did have has had will would can could should shall "
    "may might must i you he she it we they that's it's i'm i've i'll we're we've there's "
    "what's".split()
)
# Asking about an errand rather than for one: a question with no "you" asked to act.
_QUESTION_ABOUT = re.compile(
    r"^(?!what i need|what we need|do me a favou?r)"
    r"(?:how|what|when|where|which|who|why|is|are|was|were|does|do|did|should|shall|"
    r"would it|is it|i wonder)\b"
    r"(?!.*\b(?:(?:can|could|would|will) you|you (?:could|can|would|will|might))\b)"
)
# Reporting one: what the caller did or will do themselves.
_REPORT = re.compile(
    r"^(?:i'm|we're|i am|we are) (?:gonna|going to)\b(?!.*\byou\b)"
    r"|^(?:i'll|we'll)(?! need)\b(?!.*\byou\b)"
    r"|^(?:i|we|my \w+|our \w+)(?: already| just| finally| actually)? "
    r"(?:(?!need\b)\w+ed|got|made|sent|paid|bought|went|did|had|put|set|found|took|left|rang|"
    r"'ll(?! need)|will(?! need)|'m going to|am going to|'re going to|are going to|"
    r"plan to|might|'m gonna|'re gonna)\b(?!.*\byou\b)"
)
_TALK_ABOUT = re.compile(r"\b(?:remind|tell) (?:me|us) (?:what|who|how|where|when|why|of|about)\b")
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


def _clauses(text: str) -> list[list[str]]:
    """Lower-case clauses as words, without punctuation or the fillers that open them."""
    clauses = []
    for raw in re.split(r"[.?!;:]+|,\s*(?:and|but|so)\b|\s-+\s", text.lower()):
        words = re.sub(r"[^\w' ]+", " ", raw.replace("-", " ")).split()
        while words and words[0] in _FILLERS:
            words.pop(0)
        if words:
            clauses.append(words)
    return clauses


def _stems(word: str) -> list[str]:
    """The word and the base forms it may be: booking -> book, setting -> set, sorted -> sort."""
    forms = [word]
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word.removesuffix(suffix)
            forms += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:  # setting -> set
                forms.append(stem[:-1])
    return forms


def _verb(words: list[str], at: int) -> tuple[str, str] | None:
    """("action", kind) or ("talk", "") if a verb starts at `words[at]`."""
    for form in _stems(words[at]):
        if form in _WITH:
            kind, completions = _WITH[form]
            return ("action", kind) if completions.intersection(words[at + 1 : at + 5]) else None
        if form in _TALK:
            return ("talk", "")
        if form in _ACTIONS:
            return ("action", _ACTIONS[form])
    return None


def _governed(words: list[str], start: int) -> str | None:
    """The errand a request starting at `words[start]` asks for, if its first verb acts."""
    for at in range(start, min(len(words), start + 8)):
        if words[at] in _STOP_AT:
            return None  # "can you tell me how to ...", "I need to know whether ..."
        verb = _verb(words, at)
        if verb is not None:
            return verb[1] if verb[0] == "action" else None
        if words[at] not in _SKIPPED:
            return None
    return None


_NUMBERS = set("a an one two three four five six seven eight nine ten twelve".split())


_POLITE_TAIL = re.compile(r"\b(?:please|if (?:you|u) (?:can|could)|if possible|thanks|thank you)\b")
_CONJUNCTIONS = {"so", "and", "then"}


def _fragment(words: list[str]) -> bool:
    """A bare order: it opens on the thing (or a number of them) and has no verb of its own
    (but for a polite tail: "two tickets to the matinee please, aisle seats if you can")."""
    opening = words[1] if words[0] in _NUMBERS and len(words) > 1 else words[0]
    bare = _POLITE_TAIL.sub(" ", " ".join(words)).split()
    return opening in _THINGS and not _AUXILIARIES.intersection(bare)


def _imperative_after_conjunction(words: list[str]) -> str | None:
    """ "... came cracked so uh return it": an order that a conjunction opens mid-clause."""
    for at, word in enumerate(words[:-1]):
        if word not in _CONJUNCTIONS:
            continue
        nxt = at + 1
        while nxt < len(words) - 1 and words[nxt] in _FILLERS:
            nxt += 1
        if words[nxt] in _ACTIONS or words[nxt] in _WITH:  # the base form: an order
            verb = _verb(words, nxt)
            if verb is not None and verb[0] == "action":
                return verb[1]
    return None


def _errand(words: list[str]) -> str | None:
    clause = " ".join(words)
    if _TALK_ABOUT.search(clause) or _QUESTION_ABOUT.search(clause) or _REPORT.search(clause):
        return None
    for address in _ADDRESS.finditer(clause):
        start = len(clause[: address.end()].split())
        kind = _governed(words, start)
        if kind is not None:
            return kind
    first = _verb(words, 0)
    if first is not None and words[0] in _ACTIONS | _WITH.keys():  # an imperative
        return first[1] if first[0] == "action" else None
    kind = _imperative_after_conjunction(words)
    if kind is not None:
        return kind
    things = [_THINGS[w] for w in words if w in _THINGS]
    if things and _fragment(words):  # a bare order: "pizza, large, the usual place"
        return things[0]
    if things and re.search(r"\b(?:i|we) (?:need|want|'d like|would like|'ll need)\b", clause):
        return things[0]  # "I need a hotel room"
    return None


def errand_by_rules(text: str) -> str | None:
    """The kind of errand the rules see in the words, or None."""
    for clause in _clauses(_normalize(text)):
        kind = _errand(clause)
        if kind is not None:
            return kind
    return None


def _kind_named(text: str) -> str:
    """For an errand only the classifier saw: the kind of the first errand word said."""
    for clause in _clauses(_normalize(text)):
        for at, word in enumerate(clause):
            verb = _verb(clause, at)
            if verb is not None and verb[0] == "action":
                return verb[1]
            if word in _THINGS:
                return _THINGS[word]
    return ""


def prepare() -> None:
    """Fit the classifier now (a fraction of a second) rather than in the first turn."""
    default_classifier()


def decide(text: str, classifier: RequestClassifier | None = None) -> Decision | None:
    """What the words ask of the delegation, or None: an ordinary turn for the LLM."""
    words = _normalize(text)
    if _CANCEL.search(words):
        return Decision("cancel")
    if _STATUS.search(words):
        return Decision("status")
    kind = errand_by_rules(words)
    if kind is not None:
        return Decision("delegate", kind)
    if (classifier or default_classifier()).probability(words) >= THRESHOLD:
        return Decision("delegate", _kind_named(words))
    return None
