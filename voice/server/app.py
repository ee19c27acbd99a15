"""The HTTP side of `voice serve`: the page, signalling, health and metrics (FastAPI).

- `GET /?token=...`: the page (`static/`); the token in its URL is what the page sends back.
- `POST /offer`: `{"sdp", "type"}` with `Authorization: Bearer <token>` -> the SDP answer.
  401 without the right token, 400 for an offer that is not usable SDP audio, 429 when one
  address sends too many offers, 503 when every call slot is taken.
- `POST|GET /phone/answer?token=...` and `WS /phone/stream`: phone calls through a carrier's
  media stream (`media_stream_calls`), sharing the call slots with the page's calls.
- `GET /healthz`: liveness and load; `GET /metrics`: Prometheus text.
With `serve.sip` set, the same process answers phone calls over SIP/RTP (`sip_calls`), counted
in the same call slots. With `serve.harness`, the durable harness runs in the same process and
calls delegate to it. Shutting the server down ends every call cleanly (the lifespan's exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from telephony.media_streams.protocol import connect_document
from voice.config import Config
from voice.providers.registry import Models
from voice.server.access import OfferLimiter, bearer, new_token, token_ok
from voice.server.calls import BadOffer, Busy, Calls, restrict_ice_hosts
from voice.server.llm_slots import LLMSlots
from voice.server.media_stream_calls import MediaStreamCalls
from voice.server.metrics import ServerMetrics
from voice.server.sip_calls import SipCalls

STATIC = Path(__file__).resolve().parent / "static"
MAX_SDP_CHARS = 64_000  # a browser's audio offer is a few kB


class Offer(BaseModel):
    sdp: str
    type: str
    # the page's id for its user (random, kept in the browser): whose delegated tasks these are
    caller: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")


@dataclass
class Server:
    """What a running app holds; the CLI and the tests reach the calls through it."""

    config: Config
    token: str
    calls: Calls
    phone_streams: MediaStreamCalls
    metrics: ServerMetrics
    limiter: OfferLimiter
    sip: SipCalls | None = None  # phone calls, when `serve.sip` is set


def create_app(config: Config, models: Models, token: str | None = None) -> FastAPI:
    serve = config.serve
    restrict_ice_hosts(serve.ice_hosts)
    metrics = ServerMetrics()
    token = token or serve.token or new_token()
    slots = LLMSlots(config, models, serve.max_sessions)  # browser and phone calls share them
    server = Server(
        config=config,
        token=token,
        calls=Calls(config, slots, metrics),
        phone_streams=MediaStreamCalls(config, token, slots, metrics),
        metrics=metrics,
        limiter=OfferLimiter(serve.offers_per_minute),
        sip=SipCalls(config, slots, metrics) if serve.sip else None,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as beside:
            if serve.harness:  # the durable harness in this process, long tasks delegated to it
                from voice.harness.runner import run_harness

                endpoint = await beside.enter_async_context(run_harness(config))
                config.delegate.enabled = True
                config.delegate.url, config.delegate.token = endpoint.url, endpoint.token
            if server.sip is not None:
                await server.sip.start()
            try:
                yield
            finally:
                if server.sip is not None:
                    await server.sip.close()  # BYE to every phone call in progress
                await asyncio.gather(server.phone_streams.close_all(), server.calls.close_all())

    app = FastAPI(title="voice", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.server = server
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.post("/offer")
    async def offer(body: Offer, request: Request) -> JSONResponse:
        if not token_ok(server.token, bearer(request.headers.get("authorization"))):
            metrics.errors.labels("unauthorized").inc()
            raise HTTPException(401, "missing or wrong token: open the URL `voice serve` printed")
        client = request.client.host if request.client else "unknown"
        if not server.limiter.allow(client):
            metrics.errors.labels("rate_limited").inc()
            raise HTTPException(429, "too many calls from this address; wait a minute")
        if len(body.sdp) > MAX_SDP_CHARS:
            metrics.errors.labels("bad_offer").inc()
            raise HTTPException(400, f"the offer is longer than {MAX_SDP_CHARS} characters")
        try:
            sdp, call_id = await server.calls.answer(body.sdp, body.type, body.caller)
        except BadOffer as exc:
            metrics.errors.labels("bad_offer").inc()
            raise HTTPException(400, str(exc)) from None
        except Busy as exc:
            metrics.errors.labels("busy").inc()
            raise HTTPException(503, str(exc)) from None
        return JSONResponse({"sdp": sdp, "type": "answer", "session": call_id})

    @app.api_route("/phone/answer", methods=["GET", "POST"])
    async def phone_answer(request: Request) -> Response:
        if not token_ok(server.token, request.query_params.get("token")):
            metrics.errors.labels("unauthorized").inc()
            raise HTTPException(401, "missing or wrong token: use the URL `voice serve` printed")
        forwarded = request.headers.get("x-forwarded-proto", request.url.scheme)
        scheme = "wss" if forwarded in ("https", "wss") else "ws"
        host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
        parameters = {"token": server.token}
        caller = await _caller_number(request)  # the carrier's `From`: whose tasks these are
        if caller:
            parameters["caller"] = caller
        document = connect_document(f"{scheme}://{host}/phone/stream", parameters)
        return Response(document, media_type="application/xml")

    @app.websocket("/phone/stream")
    async def phone_stream(websocket: WebSocket) -> None:
        await server.phone_streams.serve(websocket)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {
            "status": "ok",
            "sessions": len(server.calls.active)
            + len(server.phone_streams.active)
            + (len(server.sip.active) if server.sip else 0),
            "max_sessions": config.serve.max_sessions,
        }

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return app


async def _caller_number(request: Request) -> str:
    """The calling number of a carrier's answer webhook: `From`, in its form-encoded body (as
    Twilio posts it; the standard library parses it, no multipart package needed) or query."""
    number = request.query_params.get("From", "")
    if not number and request.method == "POST":
        body = (await request.body())[:16_000].decode("utf-8", "replace")
        number = (urllib.parse.parse_qs(body).get("From") or [""])[0]
    return number[:64] if re.fullmatch(r"[+\w:@.-]*", number) else ""


def server_of(app: FastAPI) -> Server:
    server: Server = app.state.server
    return server
