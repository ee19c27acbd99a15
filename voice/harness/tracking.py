"""From a workflow's progress and end to the A2A updates a client sees (sans-IO).

The server reads the workflow's `progress` query every poll; a client wants one status
update per change, never the same line twice, and the step numbers to draw a bar or say
"step 2 of 3". Pure state: a snapshot in, an update (or nothing) out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from a2a.types.a2a_pb2 import TaskState
from temporalio.exceptions import ApplicationError, CancelledError, TerminatedError, TimeoutError

from voice.harness.requests import BookingRequest, ResearchRequest


@dataclass(frozen=True)
class ProgressUpdate:
    """One working-state status update: its text and its metadata."""

    text: str
    metadata: dict[str, Any]


class ProgressTracker:
    """Turns successive progress snapshots into the updates worth sending."""

    def __init__(self) -> None:
        self._last: tuple[int, str] | None = None

    def on_progress(self, step: int, steps: int, doing: str) -> ProgressUpdate | None:
        """The update for this snapshot, or None when nothing changed since the last one."""
        key = (step, doing)
        if key == self._last:
            return None
        self._last = key
        shown = min(step + 1, steps)
        return ProgressUpdate(
            text=f"{doing} (step {shown} of {steps})",
            metadata={"step": step, "steps": steps, "doing": doing},
        )


def started_text(request: BookingRequest | ResearchRequest) -> str:
    """The first working update: what the harness understood it was asked to do."""
    if isinstance(request, BookingRequest):
        return f"Booking a table for {request.party_size} at {request.restaurant} ({request.when})"
    return f"Researching: {request.question}"


REJECTED_TEXT = (
    "This harness can book a table (e.g. 'book a table for 4 at Luigi's at 7pm') or research "
    "a question (e.g. 'research why the sky is blue'); the request asked for neither."
)


def failure_report(cause: BaseException | None) -> tuple[TaskState, str]:
    """The A2A state and sentence for a workflow that ended without a result."""
    if isinstance(cause, CancelledError):
        return TaskState.TASK_STATE_CANCELED, "Cancelled."
    if isinstance(cause, ApplicationError):  # the workflow's own words (e.g. what was undone)
        return TaskState.TASK_STATE_FAILED, cause.message
    if isinstance(cause, TerminatedError | TimeoutError):
        return TaskState.TASK_STATE_FAILED, f"The task's workflow ended without a result ({cause})."
    return TaskState.TASK_STATE_FAILED, f"The task failed ({cause})."
