"""A STAND-IN for the harness: a small a2a-sdk server, in the test's own event loop.

Not the reference harness (`python -m voice harness`, Temporal-backed): it answers every
message with a task that says it is working, waits `duration_s`, then completes with a
result artifact, so the client and the delegation policy are tested against a real A2A 1.0
server (agent card, JSON-RPC, SSE streams, get/subscribe/cancel) without Temporal. It checks
the bearer token as the real harness does.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from a2a.helpers import get_message_text, new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class StandInHarness:
    url: str
    token: str
    requests: list[str] = field(default_factory=list)  # the text of every task received
    cancelled: list[str] = field(default_factory=list)


class _Executor(AgentExecutor):
    def __init__(self, harness: StandInHarness, duration_s: float, progress: str) -> None:
        self.harness = harness
        self.duration_s = duration_s
        self.progress = progress

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.message is not None
        task = context.current_task or new_task_from_user_message(context.message)
        await event_queue.enqueue_event(task)
        request = get_message_text(context.message)
        self.harness.requests.append(request)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work(updater.new_agent_message([new_text_part(self.progress)]))
        await asyncio.sleep(self.duration_s)
        await updater.add_artifact([new_text_part(f"Done: {request.rstrip('.?!')}.")])
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id is not None and context.context_id is not None
        self.harness.cancelled.append(context.task_id)
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


class _BearerToken(BaseHTTPMiddleware):
    def __init__(self, app: Starlette, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path != "/.well-known/agent-card.json":
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)


@asynccontextmanager
async def standin_harness(
    duration_s: float = 1.0, progress: str = "Working on it.", token: str = "standin-token"
) -> AsyncIterator[StandInHarness]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    harness = StandInHarness(url, token)
    card = AgentCard(
        name="stand-in harness",
        description="a test stand-in for the voice harness",
        version="0.1",
        supported_interfaces=[
            AgentInterface(protocol_binding="JSONRPC", url=url + "/", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="errand", name="errand", description="long tasks", tags=["task"])],
    )
    handler = DefaultRequestHandler(
        _Executor(harness, duration_s, progress), InMemoryTaskStore(), card
    )
    app = Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])
    app.add_middleware(_BearerToken, token=token)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.02)
        yield harness
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
