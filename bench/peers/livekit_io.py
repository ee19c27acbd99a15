"""LiveKit Agents audio I/O on our loopback transport, in place of a LiveKit room.

`AgentSession` runs without a server when `session.input.audio` and `session.output.audio` are
set to our own `AudioInput` / `AudioOutput`. The input hands LiveKit each 20 ms frame of
`transport.audio_input()` as it arrives; the output re-frames every bot frame LiveKit captures
to 20 ms at 16 kHz and hands it to `transport.send_audio()` at once (the transport paces the
caller at real time, as a playout buffer would).

The output follows the contract of LiveKit's own room output, because the session waits on it:
one `playback_started` per segment when its first frame goes out, and exactly one
`playback_finished` per segment, reported after `flush()` once everything played, or at once as
interrupted when `clear_buffer()` drops what was still queued. It can pause, as the room output
can, so LiveKit's stock false-interruption handling (pause on user speech, resume if it was
noise) behaves as it does for LiveKit's users.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import utils
from livekit.agents.voice import io

from voice.audio import FRAME_MS, SAMPLE_RATE, StreamResampler, resample
from voice.pipeline.frames import AudioFrame
from voice.transports.loopback import LoopbackTransport

FRAME_S = FRAME_MS / 1000


def to_rtc_frame(pcm: np.ndarray, sample_rate: int = SAMPLE_RATE) -> rtc.AudioFrame:
    """Mono int16 samples as a LiveKit frame."""
    samples = np.ascontiguousarray(pcm, dtype=np.int16)
    return rtc.AudioFrame(
        data=samples.tobytes(),
        sample_rate=sample_rate,
        num_channels=1,
        samples_per_channel=len(samples),
    )


def frame_samples(frame: rtc.AudioFrame) -> np.ndarray:
    """A LiveKit frame's samples as mono int16 (channels mixed down) at the frame's rate."""
    pcm = np.frombuffer(frame.data, dtype=np.int16)
    if frame.num_channels > 1:
        pcm = pcm.reshape(-1, frame.num_channels).mean(axis=1).astype(np.int16)
    return pcm


def buffer_to_pcm16k(buffer: utils.AudioBuffer) -> np.ndarray:
    """An STT request's audio (one frame or a list) as 16 kHz mono int16, what Whisper takes."""
    merged = utils.merge_frames(buffer)
    return resample(frame_samples(merged), merged.sample_rate, SAMPLE_RATE)


class TransportAudioInput(io.AudioInput):
    """The caller's audio: `transport.audio_input()` frames, as they arrive, as LiveKit frames.

    Iteration ends when the transport's input ends; `ended` is set then, which is the peer's
    cue to close the session.
    """

    def __init__(self, transport: LoopbackTransport) -> None:
        super().__init__(label="LoopbackTransport")
        self._frames: AsyncIterator[AudioFrame] = transport.audio_input()
        self.ended = asyncio.Event()

    async def __anext__(self) -> rtc.AudioFrame:
        try:
            frame = await anext(self._frames)
        except StopAsyncIteration:
            self.ended.set()
            raise
        return to_rtc_frame(frame.pcm, frame.sample_rate)

    async def aclose(self) -> None:
        """Close the transport's generator (a no-op once it has ended by itself)."""
        self.ended.set()
        await self._frames.aclose()  # type: ignore[attr-defined]


@dataclass
class SegmentStart:
    """When a playback segment's first frame was handed to the transport, on both clocks.

    `wall_s` is the `created_at` given to LiveKit's `playback_started`, which LiveKit copies
    into the assistant message's `started_speaking_at`; that is how a reply finds its audio.
    """

    wall_s: float
    handed_ns: int


class TransportAudioOutput(io.AudioOutput):
    """The bot's audio: each frame LiveKit captures goes to `transport.send_audio()` re-framed."""

    def __init__(self, transport: LoopbackTransport) -> None:
        super().__init__(
            label="LoopbackTransport",
            capabilities=io.AudioOutputCapabilities(pause=True),
            sample_rate=None,  # any rate: we convert with our own resampler
        )
        self._transport = transport
        self._queue: deque[np.ndarray] = deque()
        self._queued = asyncio.Event()
        self._idle = asyncio.Event()  # nothing queued and no frame being handed over
        self._idle.set()
        self._playing = asyncio.Event()  # cleared while paused
        self._playing.set()
        self._interrupted = asyncio.Event()
        self._resampler: StreamResampler | None = None
        self._resampler_rate = 0
        self._segment_open = False  # a segment has captured audio and not been reported yet
        self._segment_started = False  # its first frame went out
        self._sent_frames = 0
        self._generation = 0  # bumped by clear_buffer(), so held frames of the old one drop
        self._flush_task: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.segment_starts: list[SegmentStart] = []
        self._forward_task = asyncio.create_task(self._forward(), name="loopback_audio_output")

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._flush_task is not None and not self._flush_task.done():
            await self._flush_task  # the previous segment is still playing out
        self._segment_open = True
        if self._interrupted.is_set():
            return  # cleared: the rest of this segment is not played
        if self._resampler is None or self._resampler_rate != frame.sample_rate:
            self._resampler = StreamResampler(frame.sample_rate)
            self._resampler_rate = frame.sample_rate
        self._enqueue(self._resampler.push(frame_samples(frame)))

    def flush(self) -> None:
        super().flush()
        if self._resampler is not None and not self._interrupted.is_set():
            self._enqueue(self._resampler.push(np.zeros(0, dtype=np.int16), last=True))
        self._resampler = None
        if not self._segment_open:
            return
        if self._flush_task is not None and not self._flush_task.done():
            self._flush_task.cancel()  # only one segment plays at a time
        self._flush_task = asyncio.create_task(self._wait_for_playout(), name="loopback_playout")

    def clear_buffer(self) -> None:
        self._resampler = None
        if not self._segment_open:
            return
        self._queue.clear()
        self._generation += 1
        self._interrupted.set()
        self._spawn(self._transport.clear_audio())

    def pause(self) -> None:
        super().pause()
        self._playing.clear()

    def resume(self) -> None:
        super().resume()
        self._playing.set()

    def _enqueue(self, frames: list[np.ndarray]) -> None:
        if frames:
            self._queue.extend(frames)
            self._idle.clear()
            self._queued.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _forward(self) -> None:
        """Hand queued frames to the transport one at a time; it paces us at real time."""
        while True:
            if not self._queue:
                self._idle.set()
                self._queued.clear()
                await self._queued.wait()
                continue
            pcm = self._queue.popleft()
            generation = self._generation
            await self._playing.wait()
            if generation != self._generation:
                continue  # cleared while paused
            started = self._segment_started
            self._segment_started = True
            wall_s = time.time()
            handed_ns = await self._transport.send_audio(pcm)
            if generation != self._generation:
                continue  # cleared while this frame was going out: it counts for no segment
            self._sent_frames += 1
            if not started:
                self.segment_starts.append(SegmentStart(wall_s, handed_ns))
                self.on_playback_started(created_at=wall_s)

    async def _wait_for_playout(self) -> None:
        """Report the flushed segment once it has all gone out, or as soon as it is cleared."""
        interrupted = asyncio.ensure_future(self._interrupted.wait())
        drained = asyncio.ensure_future(self._idle.wait())
        try:
            await asyncio.wait({interrupted, drained}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await utils.aio.cancel_and_wait(interrupted, drained)
        was_interrupted = self._interrupted.is_set()
        if was_interrupted:
            self._queue.clear()
        position = self._sent_frames * FRAME_S
        self._sent_frames = 0
        self._segment_open = False
        self._segment_started = False
        self._interrupted.clear()
        self.on_playback_finished(playback_position=position, interrupted=was_interrupted)

    async def aclose(self) -> None:
        """Stop forwarding, first reporting a segment LiveKit may still be waiting on."""
        if self._segment_open:
            self.clear_buffer()
            if self._flush_task is None or self._flush_task.done():
                self.flush()
        if self._flush_task is not None:
            await self._flush_task
        await utils.aio.cancel_and_wait(self._forward_task, *self._side_tasks)
