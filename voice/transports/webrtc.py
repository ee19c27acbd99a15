"""A WebRTC call as a session transport: the browser's microphone in, the bot's voice out.

aiortc does the WebRTC (ICE, DTLS-SRTP, Opus); this module only adapts its tracks to the
`Transport` protocol the session speaks, converting rates at the edge:

- In: the remote track's Opus frames (48 kHz, usually stereo) are mixed to mono, converted to
  16 kHz (`wire_rate`, no buffering) and re-framed into 20 ms frames stamped by `input_clock`,
  so the session's latency arithmetic is the same as on the loopback.
- Out: `BotAudioTrack` is the outgoing track. `send_audio()` converts each 20 ms 16 kHz frame
  to 48 kHz and queues it; the track's `recv()`, which aiortc's sender calls, hands out one
  frame per 20 ms of wall clock (silence when nothing is queued), so the track paces the call.
  `send_audio()` waits while more than `lookahead_ms` is queued, which paces the session the
  way a playout buffer would, and `clear_audio()` drops everything queued: the caller hears at
  most the frame already on the wire.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

import av
import numpy as np
import soxr
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError

from voice.audio import FRAME_NS, FRAME_SAMPLES, SAMPLE_RATE
from voice.pipeline.frames import AudioFrame
from voice.transports.input_clock import InputClock
from voice.transports.wire_rate import Downsampler, Upsampler

WIRE_RATE = 48_000  # Opus's clock rate; browsers send and expect 48 kHz
WIRE_FRAME = WIRE_RATE * FRAME_NS // 1_000_000_000  # 960 samples per 20 ms


def mono_pcm(frame: av.AudioFrame) -> np.ndarray:
    """An aiortc audio frame's samples as mono int16 (interleaved channels averaged)."""
    samples = frame.to_ndarray()
    if samples.dtype != np.int16:  # planar float from some decoders
        samples = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    channels = len(frame.layout.channels)
    flat = samples.reshape(-1)
    if channels > 1:
        flat = flat.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return flat


class BotAudioTrack(MediaStreamTrack):
    """The outgoing audio track: queued bot frames at real-time pace, silence in between."""

    kind = "audio"

    def __init__(self, lookahead_ms: int = 60) -> None:
        super().__init__()
        self._queue: deque[np.ndarray] = deque()
        self._lookahead = max(1, lookahead_ms // 20)
        self._room = asyncio.Event()
        self._room.set()
        self._pts = 0
        self._next_ns: int | None = None
        self._upsampler = Upsampler()
        self.frames_sent = 0  # bot frames (not silence) handed to the encoder
        self.frames_dropped = 0  # bot frames cleared before they were sent

    async def push(self, pcm16k: np.ndarray) -> None:
        """Queue one 20 ms 16 kHz frame; return once there is room for the next."""
        if self.readyState != "live":  # the call is over: nobody will hear it
            return
        while len(self._queue) >= self._lookahead and self.readyState == "live":
            self._room.clear()
            await self._room.wait()
        self._queue.append(self._upsampler.push(np.asarray(pcm16k, dtype=np.int16)))

    def clear(self) -> None:
        """Drop every queued frame (barge-in) and the resampler's tail."""
        self.frames_dropped += len(self._queue)
        self._queue.clear()
        self._upsampler = Upsampler()  # the cut reply's filter tail is not played either
        self._room.set()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic_ns()
        if self._next_ns is None or now - self._next_ns > 5 * FRAME_NS:
            self._next_ns = now  # first frame, or the sender stalled: restart the clock
        delay = self._next_ns - now
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        self._next_ns += FRAME_NS
        if self._queue:
            pcm = self._queue.popleft()
            self.frames_sent += 1
        else:
            pcm = np.zeros(WIRE_FRAME, dtype=np.int16)
        self._room.set()
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = WIRE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, WIRE_RATE)
        self._pts += WIRE_FRAME
        return frame

    def stop(self) -> None:
        super().stop()
        self._room.set()


class WebRTCTransport:
    """One call's audio: the remote track in, `BotAudioTrack` out (see the module docstring)."""

    def __init__(self, bot_track: BotAudioTrack) -> None:
        self.bot_track = bot_track
        self._caller: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self._ended = asyncio.Event()

    def attach_caller(self, track: MediaStreamTrack) -> None:
        """The remote audio track, once the offer has been applied."""
        if not self._caller.done():
            self._caller.set_result(track)

    def end(self) -> None:
        """The call is over: `audio_input()` stops, and the session finishes its turns."""
        self._ended.set()
        if not self._caller.done():
            self._caller.cancel()

    async def audio_input(self) -> AsyncIterator[AudioFrame]:
        try:
            track = await self._caller
        except asyncio.CancelledError:
            if self._ended.is_set():
                return
            raise
        rate = WIRE_RATE
        resample: Callable[[np.ndarray], np.ndarray] = Downsampler().push  # exact 3:1, unbuffered
        clock = InputClock()
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            while not self._ended.is_set():
                received = asyncio.ensure_future(track.recv())
                await asyncio.wait({received, ended}, return_when=asyncio.FIRST_COMPLETED)
                if not received.done():
                    received.cancel()
                    return
                try:
                    frame = received.result()
                except MediaStreamError:
                    return
                if not isinstance(frame, av.AudioFrame):
                    continue
                if frame.sample_rate != rate:  # a decoder that is not Opus's 48 kHz
                    rate = frame.sample_rate
                    resample = _any_rate(rate)
                for pipeline_frame in clock.push(resample(mono_pcm(frame)), time.monotonic_ns()):
                    yield pipeline_frame
        finally:
            ended.cancel()

    async def send_audio(self, pcm: np.ndarray) -> int:
        if len(pcm) != FRAME_SAMPLES:
            pcm = np.pad(pcm[:FRAME_SAMPLES], (0, max(0, FRAME_SAMPLES - len(pcm))))
        handed = time.monotonic_ns()
        await self.bot_track.push(pcm)
        return handed

    async def clear_audio(self) -> None:
        self.bot_track.clear()


def _any_rate(rate: int) -> Callable[[np.ndarray], np.ndarray]:
    """A converter for a decoder at another rate than 48 kHz (soxr; it buffers a little)."""
    stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, "int16")
    return lambda pcm: np.asarray(stream.resample_chunk(pcm), dtype=np.int16)


def set_audio_jitter_buffer(receiver: RTCRtpReceiver, frames: int) -> None:
    """Hold `frames` 20 ms frames in the receiver's jitter buffer instead of aiortc's 4.

    aiortc releases an audio frame only once 4 more are buffered: 80 ms added to everything
    the agent hears, end of speech included, which no trace shows (frames are stamped when they
    leave the buffer). On loopback or a LAN 1 is enough; a lossy path wants more. aiortc has no
    option for it, so the buffer it made is replaced; a test fails if that attribute moves.
    """
    from aiortc.jitterbuffer import JitterBuffer

    name = "_RTCRtpReceiver__jitter_buffer"
    current = getattr(receiver, name, None)
    if not isinstance(current, JitterBuffer):
        raise RuntimeError("aiortc's RTCRtpReceiver has no jitter buffer where expected")
    setattr(receiver, name, JitterBuffer(capacity=current.capacity, prefetch=frames))
