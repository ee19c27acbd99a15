"""An in-process transport that plays a recording as a live caller would.

Input: the recording is delivered as 20 ms frames at real-time pace, each stamped with its
capture time; after the recording, silence keeps flowing until the agent has answered (or a
limit passes). Output: bot frames are recorded with the time they were handed over, and the
sender is paced at real time with a small lookahead, like a playout buffer, so a turn's audio
takes as long to "play" as it would on a call.

An optional overlay clip (a barge-in, a backchannel, a noise burst) starts a fixed time after
the agent's first audio frame, as a caller talking over the agent would.

This transport is also the measurement boundary of the benchmark: our agent and the peer
frameworks all read from `audio_input()` and hand audio to `send_audio()`, so the same clock
and the same arithmetic apply to each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import numpy as np

from voice.audio import FRAME_NS, FRAME_SAMPLES, split_frames
from voice.pipeline.frames import AudioFrame


async def sleep_until(deadline_ns: int) -> None:
    delay = deadline_ns - time.monotonic_ns()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)


@dataclass(frozen=True)
class Overlay:
    """A clip played into the input `after_output_s` after the agent's first audio frame."""

    pcm: np.ndarray
    after_output_s: float = 1.0


class LoopbackTransport:
    def __init__(
        self,
        pcm: np.ndarray,
        *,
        finished: Callable[[], bool] | None = None,
        min_tail_ms: int = 600,
        max_tail_ms: int = 15_000,
        answer_timeout_ms: int = 5_000,
        quiet_after_output_ms: int = 1_200,
        playout_lookahead_ms: int = 40,
        overlay: Overlay | None = None,
    ) -> None:
        """`finished`, if given, says when the agent is done; otherwise the transport decides
        from what it sees: the agent has answered and been quiet for `quiet_after_output_ms`,
        or nothing came back within `answer_timeout_ms` of the recording's end."""
        self._pcm = np.asarray(pcm, dtype=np.int16)
        self._finished = finished
        self._min_tail_ns = min_tail_ms * 1_000_000
        self._max_tail_ns = max_tail_ms * 1_000_000
        self._answer_timeout_ns = answer_timeout_ms * 1_000_000
        self._quiet_ns = quiet_after_output_ms * 1_000_000
        self._lookahead_ns = playout_lookahead_ms * 1_000_000
        self._overlay = overlay
        self.origin_ns: int | None = None
        self.overlay_start_ns: int | None = None  # media time of the overlay's first sample
        self.output: list[tuple[int, np.ndarray]] = []  # (handed-over time, 20 ms frame)
        self._play_start_ns: list[int] = []  # when each output frame is due to play
        self.dropped: set[int] = set()  # output frames cleared from the buffer before playing
        self.clears: list[int] = []  # times of `clear_audio` calls
        self._play_end_ns = 0

    def media_time_ns(self, file_time_s: float) -> int:
        """The capture time of a point in the input recording."""
        if self.origin_ns is None:
            raise RuntimeError("the transport has not started")
        return self.origin_ns + round(file_time_s * 1e9)

    @property
    def first_output_ns(self) -> int | None:
        return self.output[0][0] if self.output else None

    @property
    def last_output_ns(self) -> int | None:
        return self.output[-1][0] if self.output else None

    def _done(self, now: int, end_of_recording: int) -> bool:
        tail = now - end_of_recording
        if tail >= self._max_tail_ns:
            return True
        if tail < self._min_tail_ns:
            return False
        if self.overlay_pending:
            # keep listening for the agent's audio that triggers the overlay
            return self.last_output_ns is None and tail >= self._answer_timeout_ns
        if self._finished is not None:
            return self._finished()
        last = self.last_output_ns
        if last is None:
            return tail >= self._answer_timeout_ns
        return now - last >= self._quiet_ns

    async def audio_input(self) -> AsyncIterator[AudioFrame]:
        origin = self.origin_ns = time.monotonic_ns()
        frames = list(split_frames(self._pcm))
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        end_of_recording = origin + len(frames) * FRAME_NS
        index = 0
        while True:
            media = origin + index * FRAME_NS
            if index < len(frames):
                pcm = frames[index]
            else:
                overlay_pcm = self._overlay_frame(media)
                if overlay_pcm is not None:
                    pcm = overlay_pcm
                elif self._done(media, end_of_recording):
                    return
                else:
                    pcm = silence
            await sleep_until(media + FRAME_NS)  # a frame exists once its last sample is captured
            yield AudioFrame(pcm, media)
            index += 1

    def _overlay_frame(self, media: int) -> np.ndarray | None:
        """The overlay's frame due at `media`, if the overlay is playing then."""
        first = self.first_output_ns
        if self._overlay is None or first is None:
            return None
        if self.overlay_start_ns is None:
            if media < first + round(self._overlay.after_output_s * 1e9):
                return None
            self.overlay_start_ns = media
        offset = (media - self.overlay_start_ns) // FRAME_NS * FRAME_SAMPLES
        chunk = self._overlay.pcm[offset : offset + FRAME_SAMPLES]
        if len(chunk) == 0:
            return None
        return np.pad(chunk, (0, FRAME_SAMPLES - len(chunk)))

    @property
    def overlay_pending(self) -> bool:
        """An overlay is configured but has not started yet."""
        return self._overlay is not None and self.overlay_start_ns is None

    async def send_audio(self, pcm: np.ndarray) -> int:
        handed = time.monotonic_ns()
        self.output.append((handed, pcm))
        play_start = max(self._play_end_ns, handed)
        self._play_start_ns.append(play_start)
        self._play_end_ns = play_start + FRAME_NS
        await sleep_until(self._play_end_ns - self._lookahead_ns)
        return handed

    async def clear_audio(self) -> None:
        """Drop the frames handed over but not yet played (at most the lookahead): the caller
        never hears them, and the next frame plays at once."""
        now = time.monotonic_ns()
        self.clears.append(now)
        for index in range(len(self._play_start_ns) - 1, -1, -1):
            if self._play_start_ns[index] < now:
                break
            self.dropped.add(index)
        self._play_end_ns = now

    def bot_audio(self) -> np.ndarray:
        """Every frame handed over (the measurement boundary of the benchmark)."""
        if not self.output:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([pcm for _, pcm in self.output])

    def played_audio(self) -> np.ndarray:
        """What the caller heard: the frames handed over, less those `clear_audio` dropped."""
        kept = [pcm for index, (_, pcm) in enumerate(self.output) if index not in self.dropped]
        return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int16)
