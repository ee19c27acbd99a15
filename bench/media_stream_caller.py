"""A scripted carrier for `voice serve`'s media-stream endpoint: what Twilio does on a call.

It opens the WebSocket, sends `connected` and `start` (with the answer document's token as a
stream parameter), then streams the caller's line as a phone network does: 20 ms `media`
messages of base64 µ-law at 8 kHz at real-time pace, the clip and silence around it, for as
long as the call lasts. It records the bot's `media` as it arrives (decoded, 8 kHz), and the
`clear` and `mark` messages. TTFA measured here is the carrier's: from the moment the clip's
end-of-speech sample was sent to the first audible bot audio received after it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soxr
import websockets

from bench.webrtc_caller import CallRecord, poll
from telephony.g711 import PHONE_RATE, decode, encode
from voice.audio import SAMPLE_RATE

FRAME_BYTES = PHONE_RATE // 50  # 20 ms of G.711
FRAME_NS = 20_000_000


@dataclass
class StreamRecord(CallRecord):
    """`CallRecord`'s bot audio (here 8 kHz), plus the control messages the agent sent."""

    control: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (arrival, message)

    def clears_ns(self) -> list[int]:
        return [t for t, m in self.control if m.get("event") == "clear"]


class PhoneLine:
    """The caller's side of the line: µ-law frames at real-time pace, silence when nobody talks."""

    def __init__(self) -> None:
        self._wire = b""
        self._index = 0  # frames sent
        self._start_ns: int | None = None

    def say(self, pcm16k: np.ndarray) -> int:
        """Speak now, ahead of whatever is still queued; return when its first sample goes out."""
        ulaw = encode(soxr.resample(np.asarray(pcm16k, dtype=np.int16), SAMPLE_RATE, PHONE_RATE))
        at = self._index * FRAME_BYTES
        if at > len(self._wire):
            self._wire += b"\xff" * (at - len(self._wire))  # µ-law silence
        self._wire = self._wire[:at] + ulaw + self._wire[at:]
        start = self._start_ns if self._start_ns is not None else time.monotonic_ns()
        return start + self._index * FRAME_NS

    @property
    def idle(self) -> bool:
        return self._index * FRAME_BYTES >= len(self._wire)

    async def next_frame(self) -> bytes:
        if self._start_ns is None:
            self._start_ns = time.monotonic_ns()
        delay = self._start_ns + self._index * FRAME_NS - time.monotonic_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        chunk = self._wire[self._index * FRAME_BYTES : (self._index + 1) * FRAME_BYTES]
        self._index += 1
        return chunk.ljust(FRAME_BYTES, b"\xff")


@dataclass
class StreamCaller:
    """One carrier connection to `ws_url`; `async with` it, then `say()` and `poll()`."""

    ws_url: str
    token: str
    record: StreamRecord = field(default_factory=StreamRecord)
    stream_sid: str = field(default_factory=lambda: "MZ" + uuid.uuid4().hex)
    call_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)

    async def __aenter__(self) -> StreamCaller:
        self.line = PhoneLine()
        self.socket = await websockets.connect(self.ws_url, max_size=2**20)
        await self.send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await self.send(
            {
                "event": "start",
                "sequenceNumber": "1",
                "streamSid": self.stream_sid,
                "start": {
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": {"token": self.token},
                },
            }
        )
        self._tasks = [asyncio.create_task(self._talk()), asyncio.create_task(self._listen())]
        return self

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.socket.send(message if isinstance(message, str) else json.dumps(message))

    def say(self, pcm16k: np.ndarray) -> int:
        return self.line.say(pcm16k)

    async def dtmf(self, digit: str) -> None:
        await self.send({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"digit": digit}})

    async def _talk(self) -> None:
        sequence = 2
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                payload = await self.line.next_frame()
                await self.send(
                    {
                        "event": "media",
                        "sequenceNumber": str(sequence),
                        "streamSid": self.stream_sid,
                        "media": {
                            "track": "inbound",
                            "timestamp": str((sequence - 2) * 20),
                            "payload": base64.b64encode(payload).decode(),
                        },
                    }
                )
                sequence += 1

    async def _listen(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.socket:
                arrived = time.monotonic_ns()
                message = json.loads(text)
                if message.get("event") == "media":
                    payload = base64.b64decode(message["media"]["payload"])
                    self.record.received.append((arrived, decode(payload)))
                else:
                    self.record.control.append((arrived, message))

    @property
    def closed(self) -> bool:
        return self._tasks[1].done()

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.send({"event": "stop", "streamSid": self.stream_sid, "stop": {}})
        await poll(lambda: self.closed, 30)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.socket.close()
