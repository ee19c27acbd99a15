"""Phone calls through a carrier's media stream (Twilio-style), one `VoiceSession` each.

- `POST|GET /phone/answer?token=...`: the carrier's answer webhook. It returns the document that
  connects the call's audio to `/phone/stream` over a WebSocket, with the token as a stream
  parameter (the carrier hands it back in `start`), so the token never travels in that URL.
- `WS /phone/stream`: the stream. Nothing is heard before a `start` with the right token; a
  wrong or missing one closes the stream (1008), a full server closes it (1013, try again
  later). A malformed message is counted and skipped: the call goes on. `stop` or a closed
  socket ends the call; its session finishes its turns and its slot is freed.
Phone calls share the server's call slots (`serve.max_sessions`) with the browser's calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from telephony.media_streams import protocol
from telephony.media_streams.transport import MediaStreamTransport
from voice.agent.session import VoiceSession
from voice.config import Config
from voice.delegate.delegator import make_delegator
from voice.server.access import token_ok
from voice.server.call_task import let_finish
from voice.server.llm_slots import LLMSlots, NoFreeSlot
from voice.server.metrics import ServerMetrics

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0  # a stream that has not started by then is closed
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


@dataclass
class StreamCall:
    id: str
    transport: MediaStreamTransport
    session: VoiceSession
    bad_messages: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class MediaStreamCalls:
    def __init__(self, config: Config, token: str, slots: LLMSlots, metrics: ServerMetrics) -> None:
        self.config = config
        self.token = token
        self.slots = slots
        self.metrics = metrics
        self.active: dict[str, StreamCall] = {}

    async def serve(self, websocket: WebSocket) -> None:
        """One carrier connection, from `connected` to `stop` (or a closed socket)."""
        await websocket.accept()
        try:
            start = await asyncio.wait_for(self._start_of(websocket), START_TIMEOUT_S)
        except (TimeoutError, WebSocketDisconnect):
            await _close(websocket, POLICY_VIOLATION, "no start message")
            return
        given = start.parameters.get("token") or websocket.query_params.get("token")
        if not token_ok(self.token, given):
            self.metrics.errors.labels("unauthorized").inc()
            await _close(websocket, POLICY_VIOLATION, "missing or wrong token")
            return
        try:
            models = self.slots.acquire()
        except NoFreeSlot:
            self.metrics.errors.labels("busy").inc()
            await _close(websocket, TRY_AGAIN_LATER, "every call slot is in use")
            return
        transport = MediaStreamTransport(start.stream_sid, websocket.send_text, start.law)
        call = StreamCall(
            start.call_sid or uuid.uuid4().hex[:12],
            transport,
            VoiceSession(
                transport,
                models,
                self.config,
                on_turn=self.metrics.observe_turn,
                delegate=make_delegator(self.config.delegate, _caller(start)),
            ),
        )
        transport.on_dtmf = lambda digit: call.session.result.dtmf.append(digit.digit)
        self.active[call.id] = call
        self.metrics.call_started("media_stream")
        call.task = asyncio.create_task(self._run(call), name=f"call-{call.id}")
        try:
            await self._read(websocket, call)
        finally:
            transport.end()
            await let_finish(call.task, timeout_s=30)
            self.slots.release(models)
            del self.active[call.id]
            self.metrics.call_ended()
            await _close(websocket, 1000, "call over")

    async def _start_of(self, websocket: WebSocket) -> protocol.Start:
        while True:
            try:
                event = protocol.parse(await websocket.receive_text())
            except protocol.BadMessage:
                self.metrics.errors.labels("bad_message").inc()
                continue
            if isinstance(event, protocol.Start):
                return event

    async def _read(self, websocket: WebSocket, call: StreamCall) -> None:
        while True:
            try:
                message = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") if message.get("text") is not None else message.get("bytes")
            try:
                event = protocol.parse(text or "")
            except protocol.BadMessage as exc:
                call.bad_messages += 1
                self.metrics.errors.labels("bad_message").inc()
                log.warning("call %s: skipped a malformed message: %s", call.id, exc)
                continue
            call.transport.feed(event)
            if isinstance(event, protocol.Stop):
                return

    async def _run(self, call: StreamCall) -> None:
        try:
            await call.session.run()
        except Exception:  # one call's failure never harms another
            log.exception("call %s failed", call.id)
            self.metrics.errors.labels("call").inc()
        finally:
            call.transport.end()

    async def close_all(self, timeout_s: float = 30.0) -> None:
        """Graceful shutdown: each call's input ends; its session finishes its turns."""
        for call in list(self.active.values()):
            call.transport.end()
        tasks = [call.task for call in self.active.values() if call.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)


def _caller(start: protocol.Start) -> str:
    """Whose delegated tasks this call's are: the calling number the answer webhook passed on
    (the carrier's caller ID), else this call alone."""
    number = start.parameters.get("caller", "")
    return f"phone:{number}" if number else f"call:{start.call_sid or start.stream_sid}"


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason)
