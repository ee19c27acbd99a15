"""A media-stream call as a session transport: the carrier's µ-law in, the bot's voice out.

- In: each `media` payload (20 ms of G.711 at 8 kHz) is decoded and converted to 16 kHz with no
  buffering (`telephony.g711`) and stamped by `input_clock` on its arrival; each frame also
  carries its 20 ms of the caller's G.711 bytes (`AudioFrame.wire`).
- Out: the carrier plays what it is sent from its own buffer, as fast as it arrives, so this
  side paces: `send_audio()` sends each 20 ms frame at once and then waits while more than
  `lookahead_ms` of audio is ahead of the playout clock, as a playout buffer would. So at most
  that much is in the carrier's buffer when the caller barges in, and `clear_audio()` sends
  `clear`, which drops it there.
- DTMF digits arrive as events; each is kept, in order, with its arrival time, and handed to
  `on_dtmf` if one is set.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from telephony.g711 import Law, PhoneDecoder, PhoneEncoder, wire_format
from telephony.media_streams import protocol
from voice.audio import FRAME_NS, FRAME_SAMPLES
from voice.pipeline.frames import AudioFrame
from voice.transports.input_clock import InputClock

SendText = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class DtmfDigit:
    digit: str
    at_ns: int


class MediaStreamTransport:
    def __init__(
        self,
        stream_sid: str,
        send_text: SendText,
        law: Law = "ulaw",
        lookahead_ms: int = 60,
        on_dtmf: Callable[[DtmfDigit], None] | None = None,
    ) -> None:
        self.stream_sid = stream_sid
        self._send_text = send_text
        self._decoder = PhoneDecoder(law)
        self._encoder = PhoneEncoder(law)
        self._clock = InputClock(wire_format(law))
        self._frames: asyncio.Queue[AudioFrame | None] = asyncio.Queue()
        self._lookahead_ns = lookahead_ms * 1_000_000
        self._playout_end_ns: int | None = None  # when the audio sent so far will have played
        self._ended = False
        self.on_dtmf = on_dtmf
        self.dtmf: list[DtmfDigit] = []
        self.marks: list[str] = []  # marks the carrier echoed back (their audio has played)
        self.frames_sent = 0
        self.clears_sent = 0

    # -- from the carrier --------------------------------------------------------------------

    def feed(self, event: protocol.Event) -> None:
        """An event parsed from the carrier's WebSocket."""
        if self._ended:
            return
        if isinstance(event, protocol.Media):
            pcm16k = self._decoder.push(event.payload)
            for frame in self._clock.push(pcm16k, time.monotonic_ns(), event.payload):
                self._frames.put_nowait(frame)
        elif isinstance(event, protocol.Dtmf):
            digit = DtmfDigit(event.digit, time.monotonic_ns())
            self.dtmf.append(digit)
            if self.on_dtmf is not None:
                self.on_dtmf(digit)
        elif isinstance(event, protocol.Mark):
            self.marks.append(event.name)
        elif isinstance(event, protocol.Stop):
            self.end()

    def end(self) -> None:
        """The call is over: `audio_input()` stops, and nothing more is sent."""
        if not self._ended:
            self._ended = True
            self._frames.put_nowait(None)

    # -- Transport ---------------------------------------------------------------------------

    async def audio_input(self) -> AsyncIterator[AudioFrame]:
        while (frame := await self._frames.get()) is not None:
            yield frame

    async def send_audio(self, pcm: np.ndarray) -> int:
        handed = time.monotonic_ns()
        if self._ended:
            return handed
        if len(pcm) != FRAME_SAMPLES:
            pcm = np.pad(pcm[:FRAME_SAMPLES], (0, max(0, FRAME_SAMPLES - len(pcm))))
        payload = self._encoder.push(np.asarray(pcm, dtype=np.int16))
        await self._send(protocol.media(self.stream_sid, payload))
        self.frames_sent += 1
        start = handed if self._playout_end_ns is None else max(self._playout_end_ns, handed)
        self._playout_end_ns = start + FRAME_NS
        ahead = self._playout_end_ns - time.monotonic_ns()
        if ahead > self._lookahead_ns:  # return once there is room for the next frame
            await asyncio.sleep((ahead - self._lookahead_ns) / 1e9)
        return handed

    async def clear_audio(self) -> None:
        self._playout_end_ns = None
        self._encoder.reset()  # the cut reply's filter tail is not sent either
        if not self._ended:
            self.clears_sent += 1
            await self._send(protocol.clear(self.stream_sid))

    async def send_mark(self, name: str) -> None:
        """Ask the carrier to echo `name` once everything sent before it has played."""
        await self._send(protocol.mark(self.stream_sid, name))

    async def _send(self, text: str) -> None:
        # A carrier that hung up mid-send ends the call; the session finishes on its own.
        try:
            await self._send_text(text)
        except Exception:
            self.end()
