"""An in-process transport that plays a recording as a live caller would.

Input: the recording is delivered as 20 ms frames at real-time pace, each stamped with its
capture time; after the recording, silence keeps flowing until the session says it is idle (the
agent has answered) or a tail limit passes. Output: bot frames are recorded with the time they
were handed over, and the sender is paced at real time with a small lookahead, like a playout
buffer, so a turn's audio takes as long to "play" as it would on a call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import numpy as np

from voice.audio import FRAME_NS, FRAME_SAMPLES, split_frames
from voice.pipeline.frames import AudioFrame


async def sleep_until(deadline_ns: int) -> None:
    delay = deadline_ns - time.monotonic_ns()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)


class LoopbackTransport:
    def __init__(
        self,
        pcm: np.ndarray,
        *,
        finished: Callable[[], bool] = lambda: True,
        min_tail_ms: int = 600,
        max_tail_ms: int = 15_000,
        playout_lookahead_ms: int = 40,
    ) -> None:
        self._pcm = np.asarray(pcm, dtype=np.int16)
        self._finished = finished
        self._min_tail_ns = min_tail_ms * 1_000_000
        self._max_tail_ns = max_tail_ms * 1_000_000
        self._lookahead_ns = playout_lookahead_ms * 1_000_000
        self.origin_ns: int | None = None
        self.output: list[tuple[int, np.ndarray]] = []  # (handed-over time, 20 ms frame)
        self._play_end_ns = 0

    def media_time_ns(self, file_time_s: float) -> int:
        """The capture time of a point in the input recording."""
        if self.origin_ns is None:
            raise RuntimeError("the transport has not started")
        return self.origin_ns + round(file_time_s * 1e9)

    async def audio_input(self) -> AsyncIterator[AudioFrame]:
        origin = self.origin_ns = time.monotonic_ns()
        index = 0
        for index, pcm in enumerate(split_frames(self._pcm)):
            media = origin + index * FRAME_NS
            await sleep_until(media + FRAME_NS)  # a frame exists once its last sample is captured
            yield AudioFrame(pcm, media)
        end_of_file = origin + (index + 1) * FRAME_NS
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        while True:
            index += 1
            media = origin + index * FRAME_NS
            tail = media - end_of_file
            if tail >= self._max_tail_ns or (tail >= self._min_tail_ns and self._finished()):
                return
            await sleep_until(media + FRAME_NS)
            yield AudioFrame(silence, media)

    async def send_audio(self, pcm: np.ndarray) -> int:
        handed = time.monotonic_ns()
        self.output.append((handed, pcm))
        self._play_end_ns = max(self._play_end_ns, handed) + FRAME_NS
        await sleep_until(self._play_end_ns - self._lookahead_ns)
        return handed

    async def clear_audio(self) -> None:
        self._play_end_ns = time.monotonic_ns()

    def bot_audio(self) -> np.ndarray:
        if not self.output:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([pcm for _, pcm in self.output])
