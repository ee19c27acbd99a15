"""a2a-sdk's own client, with the harness's bearer token, for the tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from a2a.client import Client, ClientConfig, create_client
from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest

from tests.harness.processes import HarnessProcess


@asynccontextmanager
async def a2a_client(harness: HarnessProcess, streaming: bool = True) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {harness.token}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        client = await create_client(
            harness.url, ClientConfig(httpx_client=http, streaming=streaming, polling=not streaming)
        )
        try:
            yield client
        finally:
            await client.close()


def user_request(text: str) -> SendMessageRequest:
    return SendMessageRequest(
        message=Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=text)])
    )
