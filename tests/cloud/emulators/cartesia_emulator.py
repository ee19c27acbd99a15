"""Cartesia emulator: the TTS WebSocket (`/tts/websocket`) and `GET /voices`.

Protocol as the `cartesia` SDK speaks it: `Authorization: Bearer KEY` and `cartesia-version`
on the upgrade; JSON generation requests (`context_id`, `model_id`, `transcript`, `voice`,
`output_format`, `continue`, `flush`) and cancel requests (`{"context_id", "cancel": true}`).
Answers per context: `chunk` messages (base64 raw audio in the requested encoding and rate,
a tone as long as the text), `flush_done` (with the context's flush count) after a flushed
request, `done` after the input that ends the context (`continue: false`).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field

import numpy as np
from aiohttp import WSMsgType, web

from tests.cloud.emulators.server import DelayedSender, Emulator, arrived

SECONDS_PER_CHARACTER = 0.06
CHUNK_S = 0.04


def tone(text: str, sample_rate: int, encoding: str) -> bytes:
    samples = int(len(text.strip()) * SECONDS_PER_CHARACTER * sample_rate)
    t = np.arange(samples) / sample_rate
    wave = 0.3 * np.sin(2 * np.pi * 220 * t)
    if encoding == "pcm_f32le":
        return wave.astype("<f4").tobytes()
    return (wave * 32767).astype("<i2").tobytes()


@dataclass
class CartesiaEmulator(Emulator):
    cancelled: set[str] = field(default_factory=set)
    flushes: dict[str, int] = field(default_factory=dict)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/tts/websocket", self.websocket)
        app.router.add_get("/voices", self.voices)

    def _authorized(self, request: web.Request) -> bool:
        self.headers.append(dict(request.headers))
        return (
            request.headers.get("Authorization") == f"Bearer {self.key}"
            and "cartesia-version" in request.headers
        )

    async def voices(self, request: web.Request) -> web.Response:
        await self.delay.handshake()
        if not self._authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"data": [], "has_more": False})

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        await self.delay.handshake()
        if not self._authorized(request):
            raise web.HTTPUnauthorized(text="invalid API key")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sender = DelayedSender(ws, self.delay)
        async for message in ws:
            received = time.monotonic()
            if message.type != WSMsgType.TEXT:
                break
            await arrived(received, self.delay)
            event = json.loads(message.data)
            self.requests.append(event)
            context_id = event["context_id"]
            if event.get("cancel"):
                self.cancelled.add(context_id)
                continue
            if self.stall:
                await self.stalled()
                break
            fmt = event["output_format"]
            rate, encoding = fmt["sample_rate"], fmt["encoding"]
            width = 4 if encoding == "pcm_f32le" else 2
            audio = tone(event.get("transcript", ""), rate, encoding)
            step = int(CHUNK_S * rate) * width
            for start in range(0, len(audio), step):
                if context_id in self.cancelled:
                    break
                sender.send_json(
                    {
                        "type": "chunk",
                        "context_id": context_id,
                        "status_code": 206,
                        "done": False,
                        "step_time": 1.0,
                        "data": base64.b64encode(audio[start : start + step]).decode(),
                        "flush_id": self.flushes.get(context_id, 0) + 1,
                    }
                )
            if event.get("flush"):
                self.flushes[context_id] = self.flushes.get(context_id, 0) + 1
                sender.send_json(
                    {
                        "type": "flush_done",
                        "context_id": context_id,
                        "status_code": 206,
                        "done": False,
                        "flush_done": True,
                        "flush_id": self.flushes[context_id],
                    }
                )
            if not event.get("continue", False):
                sender.send_json(
                    {
                        "type": "done",
                        "context_id": context_id,
                        "status_code": 206,
                        "done": True,
                    }
                )
        await sender.close()
        await ws.close()
        return ws
