"""The latency budget: is a turn within it, and which stage overran its share most?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voice.config import BudgetConfig
from voice.trace.turn_trace import TurnTrace


@dataclass(frozen=True)
class BudgetVerdict:
    total_ms: float | None
    budget_ms: int
    within: bool
    overran: str | None  # the stage furthest over its share, if any stage is over
    over_ms: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget_ms": self.budget_ms,
            "within": self.within,
            "overran": self.overran,
            "over_ms": self.over_ms,
        }


def judge(trace: TurnTrace, budget: BudgetConfig) -> BudgetVerdict:
    ttfa = trace.ttfa_ns
    total_ms = None if ttfa is None else ttfa / 1e6
    over: dict[str, float] = {}
    for stage, duration in trace.stage_ms().items():
        share = budget.stages.get(stage)
        if duration is not None and share is not None and duration > share:
            over[stage] = round(duration - share, 1)
    within = total_ms is not None and total_ms <= budget.total_ms
    overran = max(over, key=lambda s: over[s]) if over and not within else None
    return BudgetVerdict(total_ms, budget.total_ms, within, overran, over)
