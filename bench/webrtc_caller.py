"""A scripted WebRTC caller for `voice serve`: plays a clip as its microphone, records the bot.

It does what the page does (one offer with every candidate, a data channel named "events",
the mic as a sendrecv audio track), with aiortc instead of a browser, so tests and the bench
can place many calls without a browser. The TTFA it reports is measured at the caller, with no
help from the server's clock: from the moment the caller sent the clip's end-of-speech sample
to the first bot audio it received after that (bot frames above -50 dBFS), so it includes the
whole WebRTC path both ways (Opus, SRTP, jitter buffers, pacing).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import httpx
import numpy as np
import soxr
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from voice.audio import SAMPLE_RATE
from voice.transports.webrtc import WIRE_FRAME, WIRE_RATE, mono_pcm, set_audio_jitter_buffer

AUDIBLE_PEAK = 100  # int16 peak of a received frame that counts as bot audio (about -50 dBFS)


class ClipTrack(MediaStreamTrack):
    """A microphone at real-time pace: silence until `begin()`, then the clip (16 kHz), then
    silence again; `say()` speaks more at any time. `sent_ns(t)` tells when the clip's sample
    at `t` seconds went out."""

    kind = "audio"

    def __init__(self, pcm: np.ndarray) -> None:
        super().__init__()
        self._clip = np.asarray(pcm, dtype=np.int16)
        self._wire = np.zeros(0, dtype=np.int16)
        self._index = 0  # frames sent
        self._start_ns: int | None = None  # when the first frame went out
        self._clip_ns: int | None = None  # when the clip's first sample went out

    def begin(self) -> int:
        """Start the clip now (once the call is up, so that none of it is lost)."""
        if self._clip_ns is None:
            self._clip_ns = self.say(self._clip)
        return self._clip_ns

    def sent_ns(self, clip_time_s: float) -> int | None:
        """When the clip's sample at `clip_time_s` was sent (None before it started)."""
        if self._clip_ns is None:
            return None
        return self._clip_ns + round(clip_time_s * 1e9)

    def say(self, pcm: np.ndarray) -> int:
        """Speak `pcm` (16 kHz) now, ahead of whatever is still queued (a barge-in); return
        the monotonic time its first sample goes out (to within a frame)."""
        wire = soxr.resample(np.asarray(pcm, dtype=np.int16), SAMPLE_RATE, WIRE_RATE)
        at = self._index * WIRE_FRAME
        if at > len(self._wire):  # silence is playing: speak from here
            self._wire = np.pad(self._wire, (0, at - len(self._wire)))
        self._wire = np.concatenate([self._wire[:at], wire.astype(np.int16), self._wire[at:]])
        start = self._start_ns if self._start_ns is not None else time.monotonic_ns()
        return start + self._index * 20_000_000

    @property
    def finished(self) -> bool:
        return self._clip_ns is not None and self._index * WIRE_FRAME >= len(self._wire)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start_ns is None:
            self._start_ns = time.monotonic_ns()
        due = self._start_ns + self._index * 20_000_000
        delay = due - time.monotonic_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        chunk = self._wire[self._index * WIRE_FRAME : (self._index + 1) * WIRE_FRAME]
        if len(chunk) < WIRE_FRAME:
            chunk = np.pad(chunk, (0, WIRE_FRAME - len(chunk)))
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = WIRE_RATE
        frame.pts = self._index * WIRE_FRAME
        frame.time_base = fractions.Fraction(1, WIRE_RATE)
        self._index += 1
        return frame


@dataclass
class CallRecord:
    """What one call saw: the bot's audio as it arrived, and the page's messages."""

    session: str | None = None
    received: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (arrival, 48 kHz)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def onsets_ns(self, gap_ms: int = 300) -> list[int]:
        """Arrival times of the first audible frame of each burst of bot audio."""
        onsets: list[int] = []
        last_audible: int | None = None
        for arrived, pcm in self.received:
            if int(np.max(np.abs(pcm.astype(np.int32)), initial=0)) < AUDIBLE_PEAK:
                continue
            if last_audible is None or arrived - last_audible > gap_ms * 1_000_000:
                onsets.append(arrived)
            last_audible = arrived
        return onsets

    def first_audio_after(self, at_ns: int) -> int | None:
        return next((t for t in self.onsets_ns() if t >= at_ns), None)

    def turns(self) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m.get("type") == "turn"]


async def _record(track: MediaStreamTrack, record: CallRecord) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()
            if isinstance(frame, av.AudioFrame):
                record.received.append((time.monotonic_ns(), mono_pcm(frame)))


async def poll(condition: Callable[[], Any], timeout_s: float, every_s: float = 0.05) -> bool:
    """Wait until `condition()` is true or `timeout_s` passes; return whether it came true."""
    for _ in range(max(1, round(timeout_s / every_s))):
        if condition():
            return True
        await asyncio.sleep(every_s)
    return bool(condition())


@dataclass
class Caller:
    """One call to `base_url` with `token`; `async with` it, then `await play()`."""

    base_url: str
    token: str
    pcm: np.ndarray
    record: CallRecord = field(default_factory=CallRecord)

    async def __aenter__(self) -> Caller:
        self.pc = RTCPeerConnection()
        self.mic = ClipTrack(self.pcm)
        self.pc.addTrack(self.mic)
        channel = self.pc.createDataChannel("events")
        channel.on("message", lambda m: self.record.messages.append(json.loads(m)))
        self._tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(_record(track, self.record)))

        # aiortc gathers every candidate here, as the page waits for its gathering to finish
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{self.base_url}/offer",
                json={"sdp": self.pc.localDescription.sdp, "type": "offer"},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        if response.status_code != 200:
            await self.pc.close()
            raise RuntimeError(f"offer refused: {response.status_code} {response.text}")
        answer = response.json()
        self.record.session = answer["session"]
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        for transceiver in self.pc.getTransceivers():
            # a browser's jitter buffer adapts to the path, down to ~20 ms on loopback; aiortc's
            # holds 80 ms, which would be charged to the server
            set_audio_jitter_buffer(transceiver.receiver, 1)
        # The server's hello comes over the data channel once DTLS and SCTP are up: from then
        # on the media path is up too, and no part of the clip is lost to the handshake.
        if not await poll(lambda: self.record.messages, 20):
            await self.__aexit__()
            raise RuntimeError("the call did not connect within 20 s")
        self.mic.begin()
        return self

    async def play(self, then_s: float = 6.0, until: Callable[[], Any] | None = None) -> None:
        """Play the whole clip, then keep listening `then_s` (or until `until()` is true)."""
        await poll(lambda: self.mic.finished, len(self.pcm) / SAMPLE_RATE + 30)
        await poll(until or (lambda: False), then_s)

    async def __aexit__(self, *exc: object) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
