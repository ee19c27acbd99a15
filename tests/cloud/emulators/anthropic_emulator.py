"""Anthropic emulator: `POST /v1/messages` (SSE stream or JSON) and `GET /v1/models`.

Protocol as the `anthropic` SDK speaks it: the key (`Authorization: Bearer`, or `x-api-key`)
and `anthropic-version` headers, a JSON
body with `model`, `max_tokens`, `system`, `messages`, `stream`. The stream is the documented
event sequence: `message_start`, `content_block_start`, `ping`, `content_block_delta`
(`text_delta`) per word, `content_block_stop`, `message_delta`, `message_stop`. With
`tool_call` set and the tool offered in the request's `tools` (recorded), the reply is a
`tool_use` block as the API streams one: `content_block_start` with the id, name and an empty
`input`, `input_json_delta` pieces of the input's JSON, `content_block_stop`, and
`stop_reason: "tool_use"` in `message_delta`. A refused key
gets a 401 `authentication_error` body. The usage block reports a prompt-cache write on the
first request with `cache_control` in `system`, a cache read after it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.cloud.emulators.server import Emulator


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


@dataclass
class AnthropicEmulator(Emulator):
    reply: str = "Sure. It is sunny in London, about twenty degrees."
    token_ms: float = 0.0  # time between text deltas
    # A tool call to make instead of `reply`: {"name": ..., "input": {...}}, made when the
    # request offers a tool of that name and its last user message contains `tool_call_when`;
    # `tool_text` is streamed as a text block before it ("" for none).
    tool_call: dict[str, Any] | None = None
    tool_call_when: str = ""
    tool_text: str = ""
    tools: list[list[dict[str, Any]]] = field(default_factory=list)  # each request's `tools`
    _cached: bool = False

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_get("/v1/models", self.models)

    def _refusal(self, request: web.Request) -> web.Response | None:
        self.headers.append(dict(request.headers))
        # The SDK sends the key as `Authorization: Bearer` (2.x) or `x-api-key` (older).
        if self.key in (
            request.headers.get("x-api-key"),
            request.headers.get("Authorization", "").removeprefix("Bearer "),
        ):
            return None
        body = {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        }
        return web.json_response(body, status=401)

    async def models(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay.rtt_ms / 1000)
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        model = {
            "type": "model",
            "id": "claude-haiku-4-5",
            "display_name": "Claude Haiku 4.5",
            "created_at": "2025-10-01T00:00:00Z",
        }
        return web.json_response(
            {"data": [model], "has_more": False, "first_id": model["id"], "last_id": model["id"]}
        )

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        system = body.get("system")
        marked = isinstance(system, list) and any("cache_control" in b for b in system)
        usage = {
            "input_tokens": 20,
            "output_tokens": 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        if marked:
            usage["cache_read_input_tokens" if self._cached else "cache_creation_input_tokens"] = (
                500
            )
            self._cached = True
        return usage

    def _tool_use(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The tool_use block to answer with, if configured and this request calls for it."""
        offered = {tool.get("name") for tool in body.get("tools") or []}
        if self.tool_call is None or self.tool_call["name"] not in offered:
            return None
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        last = users[-1]["content"] if users else ""
        if not isinstance(last, str):
            last = " ".join(b.get("text", "") for b in last if isinstance(b, dict))
        if self.tool_call_when.lower() not in last.lower():
            return None
        return {
            "type": "tool_use",
            "id": f"toolu_emulator_{uuid.uuid4().hex[:12]}",
            "name": self.tool_call["name"],
            "input": self.tool_call.get("input", {}),
        }

    async def messages(self, request: web.Request) -> web.StreamResponse:
        # The request's way there and the first byte's way back: one round trip.
        await asyncio.sleep(self.delay.rtt_ms / 1000)
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        body = await request.json()
        self.requests.append(body)
        self.tools.append(body.get("tools") or [])
        if self.stall:
            await self.stalled()
            return web.Response(status=529)
        message_id = f"msg_emulator_{uuid.uuid4().hex[:12]}"
        usage = self._usage(body)
        tool_use = self._tool_use(body)
        text = self.tool_text if tool_use is not None else self.reply
        pieces = re.findall(r"\S+\s*", text)
        content: list[dict[str, Any]] = []
        if text or tool_use is None:
            content.append({"type": "text", "text": text})
        if tool_use is not None:
            content.append(tool_use)
        stop_reason = "end_turn" if tool_use is None else "tool_use"
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model"),
                    "content": content,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": len(pieces)},
                }
            )
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "request-id": f"req_{uuid.uuid4().hex[:12]}",
            }
        )
        await response.prepare(request)
        await response.write(
            sse(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model"),
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": usage,
                    },
                },
            )
        )
        for index, block in enumerate(content):
            start = (
                {"type": "text", "text": ""} if block["type"] == "text" else {**block, "input": {}}
            )
            await response.write(
                sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": start},
                )
            )
            if index == 0:
                await response.write(sse("ping", {"type": "ping"}))
            if block["type"] == "text":
                deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
            else:  # the input as JSON text in pieces, the first one empty, as the API sends it
                whole = json.dumps(block["input"])
                deltas = [{"type": "input_json_delta", "partial_json": ""}] + [
                    {"type": "input_json_delta", "partial_json": whole[at : at + 12]}
                    for at in range(0, len(whole), 12)
                ]
            for delta in deltas:
                await response.write(
                    sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": delta},
                    )
                )
                if self.token_ms:
                    await asyncio.sleep(self.token_ms / 1000)
            await response.write(
                sse("content_block_stop", {"type": "content_block_stop", "index": index})
            )
        await response.write(
            sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": len(pieces)},
                },
            )
        )
        await response.write(sse("message_stop", {"type": "message_stop"}))
        await response.write_eof()
        return response
