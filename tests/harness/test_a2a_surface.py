"""The A2A surface of a real harness process: card, token, JSON-RPC errors, streaming."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from a2a.helpers.proto_helpers import get_data_parts
from a2a.types.a2a_pb2 import GetTaskRequest, TaskState

from tests.harness.clients import a2a_client, user_request
from tests.harness.processes import HarnessProcess, start_harness, stop_harness

pytestmark = pytest.mark.timeout(180)

V1 = {"A2A-Version": "1.0"}


@pytest.fixture(scope="module")
def harness(temporal: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HarnessProcess]:
    running = start_harness(temporal, Path(tmp_path_factory.mktemp("a2a")), step_s=0.5)
    yield running
    stop_harness(running)
    assert running.process.returncode == 0, running.log()


def _rpc(
    harness: HarnessProcess, body: str | dict | list, authorization: str | None = None
) -> httpx.Response:
    headers = {**V1, "Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    if isinstance(body, str):
        return httpx.post(harness.rpc_url, content=body, headers=headers, timeout=10)
    return httpx.post(harness.rpc_url, json=body, headers=headers, timeout=10)


def _still_serving(harness: HarnessProcess) -> None:
    reply = _rpc(
        harness,
        {"jsonrpc": "2.0", "id": 99, "method": "GetTask", "params": {"id": "x"}},
        f"Bearer {harness.token}",
    )
    assert reply.status_code == 200 and reply.json()["error"]["code"] == -32001


def test_agent_card_is_public_and_names_the_skills_and_the_token(harness: HarnessProcess) -> None:
    card = httpx.get(harness.url + "/.well-known/agent-card.json", timeout=10).json()
    assert {skill["id"] for skill in card["skills"]} == {"book_table", "research"}
    assert card["capabilities"]["streaming"] is True
    assert card["securitySchemes"]["bearer"]["httpAuthSecurityScheme"]["scheme"] == "Bearer"
    assert card["supportedInterfaces"][0]["url"] == harness.rpc_url
    assert "Stand-in" in " ".join(skill["description"] for skill in card["skills"])


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", "test-token", "Basic dGVzdDp0ZXN0"]
)
def test_rpc_without_the_right_token_is_401(
    harness: HarnessProcess, authorization: str | None
) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}
    reply = _rpc(harness, body, authorization)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")
    _still_serving(harness)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", -32700),
        ({"jsonrpc": "2.0", "id": 1}, -32600),  # no method
        ({"jsonrpc": "1.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}, -32600),
        ([{"jsonrpc": "2.0", "id": 1, "method": "GetTask"}], -32600),  # batch
        ({"jsonrpc": "2.0", "id": 1, "method": "tasks/teleport", "params": {}}, -32601),
        ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": {"x": 1}}}, -32602),
        ({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "no-such"}}, -32001),
        ({"jsonrpc": "2.0", "id": 1, "method": "CancelTask", "params": {"id": "no-such"}}, -32001),
    ],
)
def test_malformed_json_rpc_gets_the_spec_error_code(
    harness: HarnessProcess, body: str | dict | list, code: int
) -> None:
    reply = _rpc(harness, body, f"Bearer {harness.token}")
    assert reply.status_code == 200
    assert reply.json()["error"]["code"] == code, reply.text
    _still_serving(harness)


def test_streaming_client_sees_submitted_working_with_progress_then_completed(
    harness: HarnessProcess,
) -> None:
    async def scenario() -> list:
        async with a2a_client(harness) as client:
            events = [
                event
                async for event in client.send_message(user_request("research why the sky is blue"))
            ]
            task_id = events[0].task.id
            stored = await client.get_task(GetTaskRequest(id=task_id))
            return [events, stored]

    events, stored = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert events[0].HasField("task")
    assert events[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states[0] == TaskState.TASK_STATE_WORKING
    assert states[-1] == TaskState.TASK_STATE_COMPLETED
    progress = [
        e.status_update
        for e in events
        if e.HasField("status_update") and "steps" in e.status_update.metadata
    ]
    steps = [int(update.metadata["step"]) for update in progress]
    assert steps == sorted(steps) and set(range(4)) <= set(steps)  # each of 4 steps, in order
    artifacts = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert len(artifacts) == 1 and "why the sky is blue" in artifacts[0].parts[0].text
    [details] = get_data_parts(artifacts[0].parts)
    assert len(details["details"]) == 4 and "Stand-in research" in details["notice"]
    assert stored.status.state == TaskState.TASK_STATE_COMPLETED
    assert stored.artifacts[0].parts[0].text == artifacts[0].parts[0].text


def test_a_request_for_nothing_it_can_do_is_rejected(harness: HarnessProcess) -> None:
    async def scenario() -> list:
        async with a2a_client(harness) as client:
            return [event async for event in client.send_message(user_request("sing me a song"))]

    events = asyncio.run(asyncio.wait_for(scenario(), 30))
    final = events[-1].status_update.status
    assert final.state == TaskState.TASK_STATE_REJECTED
    assert "book a table" in final.message.parts[0].text


def test_an_oversized_body_is_refused_and_the_server_keeps_serving(
    harness: HarnessProcess,
) -> None:
    text = "x" * (2 << 20)
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": text}}
    reply = _rpc(harness, body, f"Bearer {harness.token}")
    assert reply.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is counted as it arrives
        yield b'{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"x": "'
        for _ in range(64):
            yield b"x" * 65536
        yield b'"}}'

    headers = {**V1, "Authorization": f"Bearer {harness.token}"}
    reply = httpx.post(harness.rpc_url, content=chunks(), headers=headers, timeout=10)
    assert reply.status_code == 200 and reply.json()["error"]["code"] == -32600
    _still_serving(harness)


def test_a_task_goes_on_after_its_streaming_client_hangs_up(harness: HarnessProcess) -> None:
    async def scenario() -> TaskState:
        async with a2a_client(harness) as client:
            async for event in client.send_message(user_request("research the northern lights")):
                if event.HasField("status_update"):
                    task_id = event.status_update.task_id
                    break  # the call ended: the stream is closed after the first update
        async with a2a_client(harness) as client:
            for _ in range(300):
                task = await client.get_task(GetTaskRequest(id=task_id))
                if task.status.state == TaskState.TASK_STATE_COMPLETED:
                    break
                await asyncio.sleep(0.1)
            return task.status.state

    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == TaskState.TASK_STATE_COMPLETED
