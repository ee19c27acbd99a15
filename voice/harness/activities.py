"""Temporal activities: the workflows' calls to the stand-in services.

Each activity passes the idempotency key the workflow gave it to the service, so Temporal's
retries (a worker killed mid-call, a timeout) never apply an effect twice. The service time
heartbeats, so a dead worker's call is retried within the heartbeat timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio import activity
from temporalio.exceptions import ApplicationError

from voice.harness.standins import (
    PAYMENT_NOTICE,
    RESEARCH_NOTICE,
    RESTAURANT_NOTICE,
    Ledger,
    StandInFailure,
)

UNDO_ACTIONS = ("release", "refund", "cancel")


@dataclass(frozen=True)
class StepCall:
    """One call to a stand-in service, as the workflow asks for it."""

    key: str  # idempotency key: the workflow id and the step's name
    action: str  # hold, charge, confirm, release, refund, or a research step's name
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StandInSettings:
    step_s: float
    fail_step: str


class StandInActivities:
    """The activities, bound to the ledger and the pace of one harness."""

    def __init__(self, ledger: Ledger, settings: StandInSettings) -> None:
        self.ledger = ledger
        self.settings = settings

    async def _call(self, service: str, call: StepCall, result: dict[str, str]) -> dict[str, str]:
        fail = call.action == self.settings.fail_step
        # Compensations are quick: undoing must not be slower than doing.
        work_s = self.settings.step_s / (3 if call.action in UNDO_ACTIONS else 1)
        try:
            return await self.ledger.call(
                call.key, service, call.action, work_s, fail, result, activity.heartbeat
            )
        except StandInFailure as exc:
            # A refusal is an answer, not an outage: retrying would be refused again.
            raise ApplicationError(str(exc), type="StandInRefused", non_retryable=True) from None

    @activity.defn(name="restaurant")
    async def restaurant(self, call: StepCall) -> dict[str, str]:
        """Hold, confirm or release a table at the stand-in restaurant."""
        details = call.details
        summary = {
            "hold": f"Table for {details.get('party_size')} held at {details.get('restaurant')}",
            "confirm": f"Booking confirmed at {details.get('restaurant')} ({details.get('when')})",
            "release": "Hold released",
            "cancel": "Booking cancelled",
        }.get(call.action, call.action)
        return await self._call(
            "restaurant",
            call,
            {"summary": summary, "reference": call.key, "notice": RESTAURANT_NOTICE},
        )

    @activity.defn(name="payment")
    async def payment(self, call: StepCall) -> dict[str, str]:
        """Charge or refund the deposit at the stand-in payment service."""
        summary = {"charge": "Deposit of 20.00 charged", "refund": "Deposit refunded"}.get(
            call.action, call.action
        )
        return await self._call(
            "payment", call, {"summary": summary, "reference": call.key, "notice": PAYMENT_NOTICE}
        )

    @activity.defn(name="research")
    async def research(self, call: StepCall) -> dict[str, str]:
        """One step of the stand-in research service: canned notes about the question."""
        question = call.details.get("question", "")
        notes = {
            "search": f"3 stand-in sources found for: {question}",
            "read": "Read the 3 stand-in sources",
            "cross-check": "The stand-in sources agree with each other",
            "summarize": f"Summary for '{question}': the stand-in sources give no real "
            "answer; this is a demonstration of a durable research task.",
        }.get(call.action, call.action)
        return await self._call(
            "research", call, {"summary": notes, "reference": call.key, "notice": RESEARCH_NOTICE}
        )

    def all(self) -> list[Callable[..., Awaitable[dict[str, str]]]]:
        return [self.restaurant, self.payment, self.research]
