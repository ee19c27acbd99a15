"""The A2A side: send a task, follow its updates, cancel it, on any A2A 1.0 server.

A thin shell over the official `a2a-sdk` client (`ClientFactory` resolves the agent card at
`<url>/.well-known/agent-card.json` and picks the transport the card offers). Its stream
events become `TaskUpdate`s: the task's state, its latest status message and the text of its
artifacts so far, which is all the policy (voice/delegate/policy.py) needs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.helpers import get_artifact_text, get_message_text, new_text_message
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.errors import A2AError, TaskNotFoundError

from voice.delegate.policy import TERMINAL

__all__ = ["A2AError", "HarnessClient", "TaskNotFoundError", "TaskUpdate", "state_name"]


def state_name(state: int) -> str:
    """TASK_STATE_INPUT_REQUIRED -> "input-required" (the A2A spec's spelling)."""
    return TaskState.Name(state).removeprefix("TASK_STATE_").lower().replace("_", "-")


class TaskUpdate:
    """One step of a task, as the policy reads it."""

    __slots__ = ("message", "result", "state", "task_id")

    def __init__(self, task_id: str, state: str, message: str = "", result: str = "") -> None:
        self.task_id = task_id
        self.state = state
        self.message = message
        self.result = result

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    def __repr__(self) -> str:
        return f"TaskUpdate({self.task_id!r}, {self.state!r}, {self.message!r}, {self.result!r})"


class _Artifacts:
    """The text of a task's artifacts, as streamed (an update may append to an artifact)."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def snapshot(self, task: Task) -> None:
        self._texts = {a.artifact_id: get_artifact_text(a) for a in task.artifacts}

    def add(self, artifact_id: str, text: str, append: bool) -> None:
        self._texts[artifact_id] = (self._texts.get(artifact_id, "") if append else "") + text

    @property
    def text(self) -> str:
        return "\n".join(text for text in self._texts.values() if text)


class HarnessClient:
    def __init__(self, url: str, token: str = "", timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # Streams stay open for minutes: no read timeout on the HTTP client, only on connect.
        self._http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout_s, read=None))
        self._client: Client | None = None

    async def _connected(self) -> Client:
        if self._client is None:
            factory = ClientFactory(ClientConfig(httpx_client=self._http, streaming=True))
            self._client = await factory.create_from_url(self.url)
        return self._client

    async def send(self, request: str) -> AsyncIterator[TaskUpdate]:
        """Start a task with the caller's words and stream its updates."""
        client = await self._connected()
        message = new_text_message(request, role=Role.ROLE_USER)
        message.message_id = uuid.uuid4().hex
        artifacts = _Artifacts()
        async for response in client.send_message(SendMessageRequest(message=message)):
            update = _update(response, artifacts)
            if update is not None:
                yield update

    async def follow(self, task_id: str) -> AsyncIterator[TaskUpdate]:
        """The task's state now, then (unless it is over) its updates from here on."""
        client = await self._connected()
        task = await client.get_task(GetTaskRequest(id=task_id))
        artifacts = _Artifacts()
        artifacts.snapshot(task)
        first = _task_update(task, artifacts)
        yield first
        if first.finished:
            return
        async for response in client.subscribe(SubscribeToTaskRequest(id=task_id)):
            update = _update(response, artifacts)
            if update is not None:
                yield update

    async def cancel(self, task_id: str) -> None:
        client = await self._connected()
        await client.cancel_task(CancelTaskRequest(id=task_id))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        await self._http.aclose()


def _task_update(task: Task, artifacts: _Artifacts) -> TaskUpdate:
    message = get_message_text(task.status.message) if task.status.HasField("message") else ""
    return TaskUpdate(task.id, state_name(task.status.state), message, artifacts.text)


def _update(response: StreamResponse, artifacts: _Artifacts) -> TaskUpdate | None:
    if response.HasField("task"):
        artifacts.snapshot(response.task)
        return _task_update(response.task, artifacts)
    if response.HasField("status_update"):
        status = response.status_update.status
        message = get_message_text(status.message) if status.HasField("message") else ""
        task_id = response.status_update.task_id
        return TaskUpdate(task_id, state_name(status.state), message, artifacts.text)
    if response.HasField("artifact_update"):
        added = response.artifact_update
        artifacts.add(added.artifact.artifact_id, get_artifact_text(added.artifact), added.append)
        return TaskUpdate(added.task_id, "", "", artifacts.text)
    if response.HasField("message"):  # the server answered at once, without a task
        answer = response.message
        return TaskUpdate(answer.task_id, "completed", "", get_message_text(answer))
    return None
