"""The A2A agent executor: each A2A task is a Temporal workflow whose id is the task id.

a2a-sdk calls `execute` for a new message (and the harness calls it again after a restart
for every unfinished task); it starts the workflow, or finds the one already running, then
follows it: progress as working status updates, the outcome as an artifact and the final
status. `cancel` cancels the workflow, which undoes what it must. The workflow, not this
process, holds the task's state, so killing the server loses nothing but the stream.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from a2a.helpers.proto_helpers import new_data_part, new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types.a2a_pb2 import TaskState
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from voice.harness.requests import BookingRequest, ResearchRequest, route_request
from voice.harness.tracking import (
    REJECTED_TEXT,
    ProgressTracker,
    failure_report,
    started_text,
)
from voice.harness.workflows import Progress, TaskOutcome

logger = logging.getLogger(__name__)

QUERY_TIMEOUT = timedelta(seconds=2)
TEMPORAL_RETRY_S = 2.0


class WorkflowExecutor(AgentExecutor):
    """Runs A2A tasks as Temporal workflows on one task queue."""

    def __init__(self, client: Client, task_queue: str, poll_s: float) -> None:
        self._client = client
        self._task_queue = task_queue
        self._poll_s = poll_s
        # Tasks whose cancel has been reported: their follower must not report after it.
        self._cancelled: set[str] = set()

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = context.task_id, context.context_id
        assert task_id and context_id  # the request handler fills both in
        updater = TaskUpdater(event_queue, task_id, context_id)
        task = context.current_task
        if task is None:
            if context.message is None:
                return
            await event_queue.enqueue_event(new_task_from_user_message(context.message))
            text = context.get_user_input()
        else:
            # Resumed after a restart, or a follow-up message: the task's first message is
            # its request, whatever came after.
            first = task.history[0] if task.history else None
            text = " ".join(p.text for p in first.parts if p.HasField("text")) if first else ""
        request = route_request(text)
        if request is None:
            await updater.reject(updater.new_agent_message([new_text_part(REJECTED_TEXT)]))
            return
        handle = await self._start_or_find(task_id, request)
        if task is None:
            await updater.start_work(
                updater.new_agent_message([new_text_part(started_text(request))])
            )
        try:
            await self._follow(task_id, handle, updater)
        finally:
            self._cancelled.discard(task_id)

    async def _start_or_find(
        self, task_id: str, request: BookingRequest | ResearchRequest
    ) -> WorkflowHandle[object, TaskOutcome]:
        """Start the task's workflow; if it already exists (a restart), its handle."""
        workflow = "book_table" if isinstance(request, BookingRequest) else "research"
        try:
            handle: WorkflowHandle[object, TaskOutcome] = await self._client.start_workflow(
                workflow,
                request,
                id=task_id,
                task_queue=self._task_queue,
                result_type=TaskOutcome,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:  # it ran before and has finished: read its outcome
            return self._client.get_workflow_handle(task_id, result_type=TaskOutcome)
        return handle  # USE_EXISTING: the running workflow's handle when it already runs

    async def _follow(
        self, task_id: str, handle: WorkflowHandle[object, TaskOutcome], updater: TaskUpdater
    ) -> None:
        """Report progress until the workflow ends, then its outcome.

        Temporal being unreachable for a while (a cluster restart) is waited out: the
        workflow goes on without us, and failing the A2A task would be a lie.
        """
        tracker = ProgressTracker()
        while True:
            outcome_future = asyncio.ensure_future(handle.result())
            try:
                while not outcome_future.done():
                    await self._report_progress(task_id, handle, tracker, updater)
                    await asyncio.wait({outcome_future}, timeout=self._poll_s)
                outcome = outcome_future.result()
                break
            except WorkflowFailureError as exc:
                if task_id not in self._cancelled:
                    await self._report_failure(exc, updater)
                return
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:  # gone (retention) or never started
                    await updater.failed(
                        updater.new_agent_message(
                            [new_text_part(f"The task's workflow is gone ({exc.message}).")]
                        )
                    )
                    return
                logger.warning("following %s: Temporal unreachable (%s); retrying", task_id, exc)
                await asyncio.sleep(TEMPORAL_RETRY_S)
            finally:
                outcome_future.cancel()
        if task_id in self._cancelled:
            return
        await updater.add_artifact(
            [
                new_text_part(outcome.text),
                new_data_part({"details": outcome.details, "notice": outcome.notice}),
            ],
            name="result",
            last_chunk=True,
        )
        await updater.complete(updater.new_agent_message([new_text_part(outcome.text)]))

    async def _report_progress(
        self,
        task_id: str,
        handle: WorkflowHandle[object, TaskOutcome],
        tracker: ProgressTracker,
        updater: TaskUpdater,
    ) -> None:
        try:
            progress = await handle.query(
                "progress", result_type=Progress, rpc_timeout=QUERY_TIMEOUT
            )
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as exc:
            # No worker at the moment (one was just killed), or Temporal is away: next poll.
            logger.debug("progress of %s not readable now: %s", task_id, exc)
            return
        update = tracker.on_progress(progress.step, progress.steps, progress.text)
        if update is not None and task_id not in self._cancelled:
            await updater.update_status(
                TaskState.TASK_STATE_WORKING,
                updater.new_agent_message([new_text_part(update.text)]),
                metadata=update.metadata,
            )

    async def _report_failure(self, exc: WorkflowFailureError, updater: TaskUpdater) -> None:
        state, text = failure_report(exc.cause)
        await updater.update_status(state, updater.new_agent_message([new_text_part(text)]))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = context.task_id, context.context_id
        assert task_id and context_id
        self._cancelled.add(task_id)
        try:
            await self._client.get_workflow_handle(task_id).cancel()
        except RPCError as exc:  # no workflow (rejected request) or already closed: nothing to stop
            logger.info("cancel of %s: %s", task_id, exc)
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.cancel(
            updater.new_agent_message(
                [new_text_part("Cancelled; the workflow undoes any steps it had done.")]
            )
        )
