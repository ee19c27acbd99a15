"""The harness's HTTP surface: a2a-sdk's agent card and JSON-RPC routes behind a bearer token.

Only the agent card is public (a client reads it to learn that it needs a token); every other
request must carry `Authorization: Bearer <token>` or is answered 401 before a2a-sdk sees it.
"""

from __future__ import annotations

import hmac
import json

from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH, PROTOCOL_VERSION_1_0
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import voice

RPC_PATH = "/a2a"
# A request is a sentence or two of text; a megabyte is far beyond any honest one.
MAX_BODY_BYTES = 1 << 20


def agent_card(base_url: str) -> AgentCard:
    """What the harness can do, where to call it, and that it wants a bearer token."""
    return AgentCard(
        name="voice durable harness",
        description=(
            "Runs long tasks for the voice agent as durable Temporal workflows: they survive "
            "a crash or a restart of the harness. The example tasks call stand-in services: "
            "nothing real is booked, charged or searched."
        ),
        version=voice.__version__,
        supported_interfaces=[
            AgentInterface(
                url=base_url + RPC_PATH,
                protocol_binding="JSONRPC",
                protocol_version=PROTOCOL_VERSION_1_0,
            )
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        security_schemes={
            "bearer": SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer", description="the token `voice harness` prints"
                )
            )
        },
        security_requirements=[SecurityRequirement(schemes={"bearer": StringList()})],
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain", "application/json"],
        skills=[
            AgentSkill(
                id="book_table",
                name="Book a table",
                description=(
                    "Books a restaurant table as a saga: hold the table, charge the deposit, "
                    "confirm; if a step fails the done ones are undone in reverse order. "
                    "Stand-in restaurant and payment services: no real booking is made."
                ),
                tags=["booking", "restaurant", "saga"],
                examples=["Book a table for 4 at Luigi's tomorrow at 7pm"],
            ),
            AgentSkill(
                id="research",
                name="Research a question",
                description=(
                    "Researches a question in several reported steps (search, read, "
                    "cross-check, summarize). Stand-in research service: canned notes, no "
                    "real search is made."
                ),
                tags=["research"],
                examples=["Research why the sky is blue"],
            ),
        ],
    )


class BearerTokenMiddleware:
    """Answers 401 to any request but the agent card's that lacks the right bearer token.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which buffers streamed responses.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] in ("GET", "HEAD") and scope["path"] == AGENT_CARD_WELL_KNOWN_PATH
        ):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        reason = "missing bearer token" if not given else "wrong bearer token"
        await _send_json(
            send,
            401,
            {"error": f"unauthorized: {reason}"},
            ((b"www-authenticate", b'Bearer realm="voice harness"'),),
        )


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` before they fill memory.

    A declared length over the limit is answered 413 at once; a chunked body is cut off when
    it passes the limit, which a2a-sdk's dispatcher answers as "Payload too large" (-32600).
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, {"error": f"request body over {self.max_bytes} bytes"})
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(status_code=413, detail="request body too large")
            return message

        await self.app(scope, limited_receive, send)


async def _send_json(
    send: Send, status: int, payload: dict[str, str], headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_harness_app(handler: DefaultRequestHandler, card: AgentCard, token: str) -> ASGIApp:
    """The Starlette app: agent card, JSON-RPC endpoint (A2A 1.0, and 0.3 method names)."""
    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url=RPC_PATH, enable_v0_3_compat=True),
    ]
    return BodyLimitMiddleware(
        BearerTokenMiddleware(Starlette(routes=routes), token), MAX_BODY_BYTES
    )
