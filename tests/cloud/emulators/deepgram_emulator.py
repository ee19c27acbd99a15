"""Deepgram emulator: the listen WebSocket (`/v1/listen`) and `GET /v1/projects`.

Protocol as `deepgram-sdk` speaks it: `Authorization: Token KEY` on the upgrade, query
parameters for the model and the audio format, binary audio messages, then JSON control
messages (`Finalize`, `CloseStream`, `KeepAlive`). It answers with `Results` messages (interim
ones while audio arrives, a final one with `from_finalize: true` after `Finalize`) and a
`Metadata` message on `CloseStream`, then closes. The transcript is `transcript`, or what
`transcriber(audio, encoding, sample_rate)` returns.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from tests.cloud.emulators.server import DelayedSender, Emulator, arrived

BYTES_PER_SECOND = {"linear16": 2, "mulaw": 1, "alaw": 1}


def results(
    transcript: str, start: float, duration: float, is_final: bool, from_finalize: bool = False
) -> dict[str, Any]:
    words = [
        {
            "word": w.strip(".,?!").lower(),
            "start": start,
            "end": start + duration,
            "confidence": 0.99,
            "punctuated_word": w,
        }
        for w in transcript.split()
    ]
    return {
        "type": "Results",
        "channel_index": [0, 1],
        "duration": duration,
        "start": start,
        "is_final": is_final,
        "speech_final": is_final,
        "from_finalize": from_finalize,
        "channel": {
            "alternatives": [{"transcript": transcript, "confidence": 0.99, "words": words}]
        },
        "metadata": {
            "request_id": str(uuid.uuid4()),
            "model_info": {"name": "emulator", "version": "0", "arch": "emulator"},
            "model_uuid": str(uuid.uuid4()),
        },
    }


@dataclass
class DeepgramEmulator(Emulator):
    transcript: str = "What is the weather like in London today?"
    transcriber: Callable[[bytes, str, int], str] | None = None
    interim_every_s: float = 0.5

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/listen", self.listen)
        app.router.add_get("/v1/projects", self.projects)

    def _authorized(self, request: web.Request) -> bool:
        self.headers.append(dict(request.headers))
        return request.headers.get("Authorization") == f"Token {self.key}"

    async def projects(self, request: web.Request) -> web.Response:
        await self.delay.handshake()
        if not self._authorized(request):
            return web.json_response({"err_code": "INVALID_AUTH"}, status=401)
        return web.json_response({"projects": [{"project_id": "emulator", "name": "emulator"}]})

    async def listen(self, request: web.Request) -> web.StreamResponse:
        await self.delay.handshake()
        if not self._authorized(request):
            raise web.HTTPUnauthorized(text="invalid credentials")
        query = dict(request.query)
        encoding = query.get("encoding", "linear16")
        sample_rate = int(query.get("sample_rate", "16000"))
        self.requests.append({"query": query, "audio_bytes": 0})
        record = self.requests[-1]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sender = DelayedSender(ws, self.delay)
        audio = bytearray()
        interim_at = self.interim_every_s
        rate = BYTES_PER_SECOND.get(encoding, 2) * sample_rate
        async for message in ws:
            received = time.monotonic()
            if message.type == WSMsgType.BINARY:
                # No wait per audio chunk: a burst of chunks crosses the network together
                # (waiting on each would add one delay per chunk); the control message that
                # follows them waits for its own arrival.
                audio.extend(message.data)
                record["audio_bytes"] = len(audio)
                seconds = len(audio) / rate
                if seconds >= interim_at and not self.stall:
                    interim_at += self.interim_every_s
                    words = self.transcript.split()
                    partial = " ".join(words[: max(1, len(words) // 2)])
                    sender.send_json(results(partial, 0.0, seconds, is_final=False))
            elif message.type == WSMsgType.TEXT:
                await arrived(received, self.delay)
                control = json.loads(message.data).get("type")
                record.setdefault("controls", []).append(control)
                if control == "Finalize":
                    if self.stall:
                        await self.stalled()
                        break
                    text = self.transcript
                    if self.transcriber is not None:
                        text = self.transcriber(bytes(audio), encoding, sample_rate)
                    sender.send_json(
                        results(text, 0.0, len(audio) / rate, is_final=True, from_finalize=True)
                    )
                elif control == "CloseStream":
                    sender.send_json(
                        {
                            "type": "Metadata",
                            "transaction_key": "deprecated",
                            "request_id": str(uuid.uuid4()),
                            "sha256": "0" * 64,
                            "created": "2026-01-01T00:00:00.000Z",
                            "duration": len(audio) / rate,
                            "channels": 1,
                        }
                    )
                    break
            else:
                break
        await sender.close()
        await ws.close()
        return ws
