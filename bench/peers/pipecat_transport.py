"""A Pipecat transport over our `LoopbackTransport`, the benchmark's measurement boundary.

Pipecat's own transports (Daily, WebRTC, websockets) would put a network and a codec between the
caller and the bot, which our agent does not have; this one puts Pipecat exactly where our agent
sits. Input: the peer feeds each 20 ms frame of `LoopbackTransport.audio_input()` into Pipecat as
an `InputAudioRawFrame` the moment it arrives. Output: Pipecat's media sender calls
`write_audio_frame` when a real transport would write to the wire; we re-frame that audio to
20 ms, 16 kHz frames and hand each to `LoopbackTransport.send_audio()`, which records the time
and paces the sender at real time (Pipecat's base output transport does not pace by itself; its
concrete transports do, in their write, as we do here).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from voice.audio import SAMPLE_RATE, StreamResampler
from voice.transports.loopback import LoopbackTransport


def loopback_params() -> TransportParams:
    """Mono 16 kHz in and out, written in 20 ms chunks (our frame size), and no trailing silence
    at the end of the session (it would count as bot audio at the boundary)."""
    return TransportParams(
        audio_in_enabled=True,
        audio_in_sample_rate=SAMPLE_RATE,
        audio_out_enabled=True,
        audio_out_sample_rate=SAMPLE_RATE,
        audio_out_10ms_chunks=2,
        audio_out_end_silence_secs=0,
    )


class LoopbackInput(BaseInputTransport):
    """Pipecat's input side: audio pushed by the peer enters Pipecat's audio queue unchanged."""

    def __init__(self, params: TransportParams, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self.ready = asyncio.Event()

    async def start(self, frame: StartFrame) -> None:
        """There is no connection to wait for: the transport is ready as soon as it starts."""
        await super().start(frame)
        await self.set_transport_ready(frame)
        self.ready.set()

    async def feed(self, pcm: np.ndarray) -> None:
        """Hand one captured frame (16 kHz mono int16) to Pipecat."""
        frame = InputAudioRawFrame(
            audio=np.asarray(pcm, dtype=np.int16).tobytes(),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        await self.push_audio_frame(frame)


class LoopbackOutput(BaseOutputTransport):
    """Pipecat's output side: every audio chunk Pipecat writes goes to `send_audio()`.

    `on_frame(handed_ns)` is told the hand-over time of each 20 ms frame, for the turn records.
    """

    def __init__(
        self,
        params: TransportParams,
        loopback: LoopbackTransport,
        on_frame: Callable[[int], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(params, **kwargs)
        self._loopback = loopback
        self._on_frame = on_frame
        self._resampler: StreamResampler | None = None
        self._resampler_rate = 0

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """On an interruption, drop the partial frame and let the loopback stop its playout
        clock, as a real transport tells its client to clear its buffer."""
        if isinstance(frame, InterruptionFrame):
            self._resampler = None
            await self._loopback.clear_audio()
        await super().process_frame(frame, direction)

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        pcm = np.frombuffer(frame.audio, dtype=np.int16)
        if frame.num_channels > 1:
            pcm = pcm[:: frame.num_channels]
        if self._resampler is None or self._resampler_rate != frame.sample_rate:
            await self._flush()
            self._resampler = StreamResampler(frame.sample_rate)
            self._resampler_rate = frame.sample_rate
        await self._send(self._resampler.push(pcm))
        return True

    async def stop(self, frame: EndFrame) -> None:
        """After Pipecat has written everything it queued, send any partial last frame."""
        await super().stop(frame)
        await self._flush()

    async def _flush(self) -> None:
        if self._resampler is not None:
            await self._send(self._resampler.push(np.zeros(0, dtype=np.int16), last=True))
            self._resampler = None

    async def _send(self, frames: list[np.ndarray]) -> None:
        for pcm in frames:
            handed = await self._loopback.send_audio(pcm)
            if self._on_frame is not None:
                self._on_frame(handed)


class LoopbackPipecatTransport(BaseTransport):
    """The pair of processors, as a Pipecat transport (`input()` first, `output()` last)."""

    def __init__(
        self, loopback: LoopbackTransport, on_frame: Callable[[int], None] | None = None
    ) -> None:
        super().__init__(name="LoopbackPipecatTransport")
        params = loopback_params()
        self._input = LoopbackInput(params, name="LoopbackInput")
        self._output = LoopbackOutput(params, loopback, on_frame, name="LoopbackOutput")

    def input(self) -> LoopbackInput:
        return self._input

    def output(self) -> LoopbackOutput:
        return self._output
