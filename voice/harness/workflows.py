"""The example workflows: a "book a table" saga and a "research a question" task.

Workflow code is replayed from Temporal's journal after a crash, so it only decides: every
effect is an activity with an idempotency key (the workflow id and the step). Progress is a
query the A2A server reads while the workflow runs (voice/harness/executor.py). The saga
undoes its done steps in reverse order when a later one fails or the task is cancelled.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from voice.harness.activities import StepCall
    from voice.harness.requests import BookingRequest, ResearchRequest

# A dead worker's call is noticed within HEARTBEAT and retried on a live one; the step
# itself may take much longer (START_TO_CLOSE) as long as it heartbeats.
HEARTBEAT = timedelta(seconds=2)
START_TO_CLOSE = timedelta(minutes=10)
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
)
# An undo must happen: it is retried far longer than a forward step.
UNDO_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=50,
)


@dataclass
class Progress:
    """What a running task has done so far; the `progress` query's answer."""

    kind: str
    step: int  # steps done
    steps: int  # steps in all (compensations are not counted)
    text: str  # what it is doing now
    done: list[str] = field(default_factory=list)  # what it has done, in order


@dataclass
class TaskOutcome:
    """A finished task's result: a sentence to speak and the details behind it."""

    text: str
    details: list[str]
    notice: str


@dataclass(frozen=True)
class _Step:
    activity: str
    action: str
    doing: str
    undo: tuple[str, str, str] | None = None  # (activity, action, doing)


_BOOKING_STEPS = (
    _Step("restaurant", "hold", "Holding a table", ("restaurant", "release", "Releasing the hold")),
    _Step(
        "payment", "charge", "Charging the deposit", ("payment", "refund", "Refunding the deposit")
    ),
    _Step(
        "restaurant",
        "confirm",
        "Confirming the booking",
        ("restaurant", "cancel", "Cancelling the booking"),
    ),
)
_RESEARCH_STEPS = (
    _Step("research", "search", "Searching the stand-in library"),
    _Step("research", "read", "Reading the sources"),
    _Step("research", "cross-check", "Cross-checking the sources"),
    _Step("research", "summarize", "Writing the summary"),
)


async def _run_step(step_activity: str, call: StepCall, retry: RetryPolicy) -> dict[str, str]:
    result: dict[str, str] = await workflow.execute_activity(
        step_activity,
        call,
        result_type=dict,
        start_to_close_timeout=START_TO_CLOSE,
        heartbeat_timeout=HEARTBEAT,
        retry_policy=retry,
        # On cancel, wait until the step has really stopped (or finished): undoing a step
        # that is still running could run before the step's own effect.
        cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    )
    return result


def _cause(exc: ActivityError) -> str:
    cause = exc.cause
    return str(cause.message if isinstance(cause, ApplicationError) else cause or exc)


def _cancel_requested() -> bool:
    """Whether the workflow was cancelled while its last step ran to completion anyway.

    With WAIT_CANCELLATION_COMPLETED a step that finishes despite the cancel returns its
    result and the cancel is not raised again; the task's cancel count still shows it.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _refused(exc: ActivityError) -> bool:
    """The service said no: the step certainly had no effect, so there is nothing to undo."""
    return isinstance(exc.cause, ApplicationError) and exc.cause.type == "StandInRefused"


@workflow.defn(name="book_table")
class BookTableWorkflow:
    """Hold a table, charge the deposit, confirm; on failure undo in reverse order."""

    def __init__(self) -> None:
        self._progress = Progress("book_table", 0, len(_BOOKING_STEPS), "Starting the booking")

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._progress

    @workflow.run
    async def run(self, request: BookingRequest) -> TaskOutcome:
        workflow_id = workflow.info().workflow_id
        details = {
            "restaurant": request.restaurant,
            "party_size": str(request.party_size),
            "when": request.when,
        }
        undo_stack: list[tuple[str, str, str]] = []
        summaries: list[str] = []
        notices: list[str] = []
        for step in _BOOKING_STEPS:
            self._progress.text = step.doing
            call = StepCall(f"{workflow_id}/{step.action}", step.action, details)
            try:
                result = await _run_step(step.activity, call, STEP_RETRY)
            except ActivityError as exc:
                cancelled = isinstance(exc.cause, CancelledError)
                # A step that did not answer may have taken effect: undo it too (undos are
                # no-ops for what never happened); a refused one certainly did not.
                if step.undo is not None and not _refused(exc):
                    undo_stack.append(step.undo)
                undone = await self._compensate(workflow_id, undo_stack, details)
                if cancelled:
                    raise asyncio.CancelledError() from None
                raise ApplicationError(
                    f"The booking failed at '{step.action}' ({_cause(exc)}). "
                    f"Undone: {', '.join(undone) or 'nothing'}.",
                    type="BookingFailed",
                    non_retryable=True,
                ) from None
            except asyncio.CancelledError:
                if step.undo is not None:
                    undo_stack.append(step.undo)
                await self._compensate(workflow_id, undo_stack, details)
                raise
            summaries.append(result["summary"])
            notices.append(result["notice"])
            self._progress.done.append(result["summary"])
            self._progress.step += 1
            if step.undo is not None:
                undo_stack.append(step.undo)
            if _cancel_requested():
                await self._compensate(workflow_id, undo_stack, details)
                raise asyncio.CancelledError()
        self._progress.text = "Booked"
        return TaskOutcome(
            text=f"Your table for {request.party_size} at {request.restaurant} is booked "
            f"({request.when}). {' '.join(dict.fromkeys(notices))}",
            details=summaries,
            notice=" ".join(dict.fromkeys(notices)),
        )

    async def _compensate(
        self, workflow_id: str, undo_stack: list[tuple[str, str, str]], details: dict[str, str]
    ) -> list[str]:
        """Undo the done steps, the last one first; returns what was undone."""
        undone: list[str] = []
        for undo_activity, action, doing in reversed(undo_stack):
            self._progress.text = doing
            call = StepCall(f"{workflow_id}/{action}", action, details)
            try:
                result = await _run_step(undo_activity, call, UNDO_RETRY)
            except ActivityError as exc:
                undone.append(f"{action} FAILED ({_cause(exc)})")
                continue
            self._progress.done.append(result["summary"])
            undone.append(action)
        return undone


@workflow.defn(name="research")
class ResearchWorkflow:
    """Search, read, cross-check, summarize: several steps, each reported as progress."""

    def __init__(self) -> None:
        self._progress = Progress("research", 0, len(_RESEARCH_STEPS), "Starting the research")

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._progress

    @workflow.run
    async def run(self, request: ResearchRequest) -> TaskOutcome:
        workflow_id = workflow.info().workflow_id
        summaries: list[str] = []
        notice = ""
        for step in _RESEARCH_STEPS:
            self._progress.text = step.doing
            call = StepCall(
                f"{workflow_id}/{step.action}", step.action, {"question": request.question}
            )
            try:
                result = await _run_step(step.activity, call, STEP_RETRY)
            except ActivityError as exc:
                if isinstance(exc.cause, CancelledError):
                    raise asyncio.CancelledError() from None
                raise ApplicationError(
                    f"The research failed at '{step.action}' ({_cause(exc)}).",
                    type="ResearchFailed",
                    non_retryable=True,
                ) from None
            summaries.append(result["summary"])
            notice = result["notice"]
            self._progress.done.append(result["summary"])
            self._progress.step += 1
            if _cancel_requested():
                raise asyncio.CancelledError()
        self._progress.text = "Done"
        return TaskOutcome(text=f"{summaries[-1]} {notice}", details=summaries, notice=notice)


WORKFLOWS = [BookTableWorkflow, ResearchWorkflow]
