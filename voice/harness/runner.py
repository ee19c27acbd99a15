"""Start the whole harness: Temporal (embedded dev server or a cluster), the worker, the server.

`run_harness(config)` is what `voice harness`, the tests and anyone starting the harness beside
`voice serve` call; it yields the endpoint (base URL and token) once every part answers and
stops them all, in reverse order, when the block ends. On start it picks up every A2A task
left unfinished by an earlier run (a crash, a deploy) and follows its workflow again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn
from a2a.server.agent_execution import RequestContext
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import DatabaseTaskStore
from a2a.types.a2a_pb2 import ListTasksRequest, TaskState
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.worker import Worker

from voice.config import Config, HarnessConfig
from voice.errors import VoiceError
from voice.harness.activities import StandInActivities, StandInSettings
from voice.harness.app import agent_card, create_harness_app
from voice.harness.executor import WorkflowExecutor
from voice.harness.standins import Ledger
from voice.harness.temporal_dev import (
    default_data_dir,
    find_temporal_binary,
    free_port,
    temporal_dev_server,
    wait_for_temporal,
)
from voice.harness.workflows import WORKFLOWS

logger = logging.getLogger(__name__)

CLUSTER_CONNECT_TIMEOUT_S = 30.0
# A killed worker's cached workflows move to a live worker after this long (Temporal's
# default is 10 s; a voice user waiting on a task should not wait that long).
STICKY_TIMEOUT = timedelta(seconds=3)
UNFINISHED_STATES = (TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING)


class HarnessError(VoiceError):
    """The harness could not start (port taken, Temporal unreachable, ...)."""


@dataclass(frozen=True)
class HarnessEndpoint:
    """A running harness: where to reach it and the token to show."""

    url: str  # base URL; the agent card is at url + /.well-known/agent-card.json
    token: str
    temporal: str  # the Temporal frontend address it uses
    data_dir: Path
    resumed: int  # unfinished tasks picked up from an earlier run
    stopped: asyncio.Event  # set when the HTTP server stops by itself

    def __str__(self) -> str:
        return self.url


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the caller owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def data_dir_of(settings: HarnessConfig) -> Path:
    return Path(settings.data_dir).expanduser() if settings.data_dir else default_data_dir()


@contextlib.asynccontextmanager
async def run_harness(config: Config | HarnessConfig) -> AsyncIterator[HarnessEndpoint]:
    """Run the harness until the block ends; yields its endpoint once it serves."""
    settings = config.harness if isinstance(config, Config) else config
    token = settings.token or secrets.token_urlsafe(24)
    data_dir = data_dir_of(settings)
    data_dir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as stack:
        if settings.temporal:
            address = settings.temporal
            timeout_s = CLUSTER_CONNECT_TIMEOUT_S
        else:
            binary = find_temporal_binary(settings.temporal_bin)
            address = await stack.enter_async_context(
                temporal_dev_server(binary, data_dir / "temporal.db", data_dir / "temporal.log")
            )
            timeout_s = 10.0
        client = await wait_for_temporal(address, settings.namespace, timeout_s)

        activities = StandInActivities(
            Ledger(data_dir / "standins.db"), StandInSettings(settings.step_s, settings.fail_step)
        )
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            activities=activities.all(),
            sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
            graceful_shutdown_timeout=timedelta(seconds=1),
        )
        worker_task = asyncio.create_task(worker.run(), name="harness-worker")
        stack.push_async_callback(_stop_worker, worker, worker_task)

        engine = create_async_engine(f"sqlite+aiosqlite:///{data_dir / 'tasks.db'}")
        stack.push_async_callback(engine.dispose)
        task_store = DatabaseTaskStore(engine)
        await task_store.initialize()

        port = settings.port or free_port(settings.host)
        shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        base_url = settings.public_url.rstrip("/") or f"http://{shown_host}:{port}"
        card = agent_card(base_url)
        executor = WorkflowExecutor(client, settings.task_queue, settings.poll_ms / 1000)
        handler = DefaultRequestHandler(
            agent_executor=executor, task_store=task_store, agent_card=card
        )
        server = _QuietServer(
            uvicorn.Config(
                create_harness_app(handler, card, token),
                host=settings.host,
                port=port,
                log_level="warning",
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
        )
        stopped = asyncio.Event()
        serve_task = asyncio.create_task(_serve(server, stopped), name="harness-http")
        stack.push_async_callback(_stop_server, server, serve_task, handler)
        while not server.started:
            if serve_task.done():
                raise HarnessError(f"cannot listen on {settings.host}:{port}")
            await asyncio.sleep(0.02)

        resumed = await resume_unfinished(handler, task_store)
        if resumed:
            logger.info("resumed %d unfinished task(s)", resumed)
        yield HarnessEndpoint(base_url, token, address, data_dir, resumed, stopped)


async def _serve(server: uvicorn.Server, stopped: asyncio.Event) -> None:
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits this way when it cannot bind
        pass
    finally:
        stopped.set()


async def _stop_server(
    server: uvicorn.Server, serve_task: asyncio.Task[None], handler: DefaultRequestHandler
) -> None:
    server.should_exit = True
    await handler.aclose()  # ends open streams, so the server need not wait for them
    await serve_task


async def _stop_worker(worker: Worker, worker_task: asyncio.Task[None]) -> None:
    with contextlib.suppress(Exception):
        await worker.shutdown()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await worker_task


async def resume_unfinished(handler: DefaultRequestHandler, task_store: DatabaseTaskStore) -> int:
    """Follow again every task an earlier run left submitted or working.

    a2a-sdk runs an executor only when a message arrives, and after a restart no message will:
    there is no public call to re-attach one. Sending a message through the handler would
    add a fake user turn to the task's history, so this queues a request without a message on
    the task's ActiveTask, which calls WorkflowExecutor.execute with the stored task; the
    executor finds the workflow by the task id and follows it to the end.
    """
    context = ServerCallContext()
    resumed = 0
    registry = handler._active_task_registry  # a2a-sdk 1.3: no public accessor
    for state in UNFINISHED_STATES:
        page_token = ""
        while True:
            page = await task_store.list(
                ListTasksRequest(status=state, page_size=100, page_token=page_token), context
            )
            for task in page.tasks:
                active = await registry.get_or_create(
                    task.id, call_context=context, context_id=task.context_id
                )
                await active.enqueue_request(
                    RequestContext(
                        call_context=context, task_id=task.id, context_id=task.context_id
                    )
                )
                resumed += 1
            page_token = page.next_page_token
            if not page_token:
                break
    return resumed
