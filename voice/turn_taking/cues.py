"""Cheap lexical cues about whether a (partial) transcript is a finished turn.

The language model scores the words as a whole; these cues catch the cases where a small model
and an audio model are both weakest: a line that stops on a word that cannot end an English
sentence ("and", "the", "to", "um") is unfinished whatever the prosody says, and Whisper often
writes a full stop after it anyway. A cue is a nudge in log-odds, not a verdict, so that a
transcription error cannot hold the agent silent forever (the decision's maximum wait bounds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words after which an English turn (almost) never ends: conjunctions, articles, determiners.
_CONTINUING = frozenset(
    """
    and or but because than whose while if unless until although though whether
    the a an my your our their every each i we they he she
    """.split()
)
# Prepositions end questions ("What is this for?") but rarely statements.
_PREPOSITIONS = frozenset(
    """
    to of in on at for with from by about into onto over under between through after before
    during without within near towards toward per via
    """.split()
)
_FILLERS = frozenset({"um", "uh", "er", "erm", "hmm", "mm", "uhm"})
_QUESTION_START = frozenset(
    """
    what what's whats who who's whos where where's when when's why how how's which whose
    is are was were do does did can could will would should shall may might have has had
    """.split()
)
# Whole turns that are complete on their own, however short (a small LLM expects more).
_COMPLETE_SHORT = frozenset(
    """
    yes no yeah yep nope okay ok sure stop thanks hello hi hey bye goodbye please cancel
    continue repeat again sorry right correct exactly absolutely never mind
    """.split()
)
_POLITE = frozenset(
    {
        "thank",
        "you",
        "very",
        "much",
        "please",
        "good",
        "morning",
        "evening",
        "night",
        "afternoon",
        "that's",
        "it",
        "all",
        "sounds",
        "great",
        "fine",
    }
)
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Cue:
    name: str  # "continuing" | "filler" | "trailing_off" | "question" | "none"
    log_odds: float


NO_CUE = Cue("none", 0.0)


def lexical_cue(transcript: str) -> Cue:
    """The strongest cue in the transcript's ending, with its log-odds nudge."""
    text = transcript.strip().lower()
    words = _WORD.findall(text)
    if not words:
        return NO_CUE
    last = words[-1]
    if text.endswith(("...", "…", ",", "-", "—")):
        return Cue("trailing_off", -2.0)
    if last in _FILLERS:
        return Cue("filler", -3.0)
    if last in _CONTINUING:
        return Cue("continuing", -3.0)
    if last in _PREPOSITIONS and not text.endswith("?"):
        return Cue("continuing", -2.0)
    if text.endswith("?") and words[0] in _QUESTION_START and len(words) >= 3:
        return Cue("question", 1.0)
    if len(words) <= 4 and (
        words[0] in _COMPLETE_SHORT or all(w in _POLITE or w in _COMPLETE_SHORT for w in words)
    ):
        return Cue("complete_short", 2.0)
    return NO_CUE
