"""Progress snapshots to A2A working updates: one per change, with the step numbers."""

from __future__ import annotations

from a2a.types.a2a_pb2 import TaskState
from temporalio.exceptions import ApplicationError, CancelledError, TerminatedError

from voice.harness.requests import BookingRequest, ResearchRequest
from voice.harness.tracking import ProgressTracker, failure_report, started_text


def test_each_change_gives_one_update_and_repeats_give_none() -> None:
    tracker = ProgressTracker()
    first = tracker.on_progress(0, 3, "Holding a table")
    assert first is not None
    assert first.text == "Holding a table (step 1 of 3)"
    assert first.metadata == {"step": 0, "steps": 3, "doing": "Holding a table"}
    assert tracker.on_progress(0, 3, "Holding a table") is None
    second = tracker.on_progress(1, 3, "Charging the deposit")
    assert second is not None and second.text == "Charging the deposit (step 2 of 3)"


def test_undo_steps_are_reported_without_counting_past_the_last_step() -> None:
    tracker = ProgressTracker()
    tracker.on_progress(2, 3, "Confirming the booking")
    undo = tracker.on_progress(2, 3, "Refunding the deposit")
    assert undo is not None and undo.text == "Refunding the deposit (step 3 of 3)"
    done = tracker.on_progress(3, 3, "Booked")
    assert done is not None and done.text == "Booked (step 3 of 3)"


def test_started_text_says_what_was_understood() -> None:
    booking = BookingRequest("...", "Luigi's", 4, "tomorrow 7pm")
    assert started_text(booking) == "Booking a table for 4 at Luigi's (tomorrow 7pm)"
    assert started_text(ResearchRequest("...", "how tides work")) == "Researching: how tides work"


def test_a_workflow_that_ends_without_a_result_maps_to_cancelled_or_failed() -> None:
    assert failure_report(CancelledError("cancelled")) == (
        TaskState.TASK_STATE_CANCELED,
        "Cancelled.",
    )
    undone = "The booking failed at 'confirm' (refused). Undone: refund, release."
    assert failure_report(ApplicationError(undone)) == (TaskState.TASK_STATE_FAILED, undone)
    state, text = failure_report(TerminatedError("terminated by an operator"))
    assert state == TaskState.TASK_STATE_FAILED and "terminated by an operator" in text
    state, text = failure_report(None)
    assert state == TaskState.TASK_STATE_FAILED and text.startswith("The task failed")
