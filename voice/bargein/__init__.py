"""Barge-in: interruption detection, cancel + flush, history truncation, false-interruption
recovery. `policy` decides (sans-IO), `controller` acts for the session, `heard` maps the
playout position to the words the caller heard."""

from voice.bargein.controller import BargeIn, Playout
from voice.bargein.heard import heard_text, mark_interrupted
from voice.bargein.policy import BargeInPolicy, BargeInSettings, Decision

__all__ = [
    "BargeIn",
    "BargeInPolicy",
    "BargeInSettings",
    "Decision",
    "Playout",
    "heard_text",
    "mark_interrupted",
]
