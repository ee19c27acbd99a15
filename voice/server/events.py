"""What the page is told over the call's data channel, as JSON messages.

Times cross the wire as ages ("the end of speech was 812 ms ago"), not as server clock
readings: the page turns an age into its own clock at receipt, which on a LAN is off by the
data channel's one-way delay (well under a millisecond on loopback).
"""

from __future__ import annotations

import json
import time
from typing import Any

from voice.config import BudgetConfig
from voice.trace.budget import judge
from voice.trace.turn_trace import TurnTrace


def _age_ms(at_ns: int, now_ns: int) -> float:
    return round((now_ns - at_ns) / 1e6, 1)


def hello(session_id: str) -> str:
    return json.dumps({"type": "hello", "session": session_id})


def speaking(trace: TurnTrace, now_ns: int | None = None) -> str:
    """The turn's first bot audio is on its way: the page starts listening for it."""
    now_ns = time.monotonic_ns() if now_ns is None else now_ns
    return json.dumps(
        {
            "type": "speaking",
            "turn": trace.turn_id,
            "transcript": trace.transcript,
            "eos_age_ms": _age_ms(trace.eos_ns, now_ns),
        }
    )


def turn_record(trace: TurnTrace, budget: BudgetConfig) -> dict[str, Any]:
    """The per-turn record with span times relative to the user's end of speech."""
    record = trace.to_dict(origin_ns=trace.eos_ns)
    record["stages_ms"] = trace.stage_ms()
    verdict = judge(trace, budget)
    record["budget"] = {**verdict.to_dict(), "ok": verdict.within, "over": verdict.overran}
    return record


def turn(trace: TurnTrace, budget: BudgetConfig) -> str:
    return json.dumps({"type": "turn", "record": turn_record(trace, budget)})
