"""The WebRTC transport's audio edges, without a network: rates, pacing and clearing."""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np

from voice.transports.webrtc import WIRE_FRAME, WIRE_RATE, BotAudioTrack, mono_pcm


def _tone_16k(ms: int) -> np.ndarray:
    t = np.arange(16 * ms) / 16_000
    return (np.sin(2 * np.pi * 300 * t) * 8000).astype(np.int16)


def test_stereo_wire_frames_are_mixed_to_mono() -> None:
    left = np.full(WIRE_FRAME, 1000, dtype=np.int16)
    right = np.full(WIRE_FRAME, 3000, dtype=np.int16)
    interleaved = np.stack([left, right], axis=1).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
    frame.sample_rate = WIRE_RATE
    mono = mono_pcm(frame)
    assert mono.shape == (WIRE_FRAME,) and np.all(mono == 2000)


def test_the_track_sends_queued_frames_at_48k_then_silence_and_paces_at_20_ms() -> None:
    async def scenario() -> tuple[list[int], float]:
        track = BotAudioTrack(lookahead_ms=60)
        for _ in range(3):
            await track.push(_tone_16k(20))
        started = time.monotonic()
        frames = [await track.recv() for _ in range(6)]
        elapsed = time.monotonic() - started
        assert all(f.sample_rate == WIRE_RATE and f.samples == WIRE_FRAME for f in frames)
        return [int(np.abs(f.to_ndarray()).max()) for f in frames], elapsed

    peaks, elapsed = asyncio.run(scenario())
    assert all(p > 3000 for p in peaks[:3]), peaks  # no resampler buffering: all three go out
    assert peaks[-1] == 0, peaks  # nothing queued: silence, never a gap
    assert elapsed >= 0.09  # six frames take 100 ms of wall clock (the first goes at once)


def test_push_waits_for_room_and_clear_drops_everything_queued() -> None:
    async def scenario() -> tuple[bool, int, list[int]]:
        track = BotAudioTrack(lookahead_ms=60)
        for _ in range(3):
            await track.push(_tone_16k(20))
        blocked = asyncio.ensure_future(track.push(_tone_16k(20)))
        await asyncio.sleep(0.05)
        was_blocked = not blocked.done()
        track.clear()  # a barge-in: what is queued never goes out
        await asyncio.wait_for(blocked, 1)
        track.clear()
        peaks = [int(np.abs((await track.recv()).to_ndarray()).max()) for _ in range(3)]
        return was_blocked, track.frames_dropped, peaks

    was_blocked, dropped, peaks = asyncio.run(scenario())
    assert was_blocked
    assert dropped >= 2
    assert peaks == [0, 0, 0]


def test_the_audio_jitter_buffer_can_be_set_on_aiortcs_receiver() -> None:
    """aiortc holds 4 frames (80 ms) before it releases one; the server holds
    `serve.jitter_frames`. This fails loudly if aiortc moves the attribute."""
    from aiortc import RTCPeerConnection
    from aiortc.jitterbuffer import JitterBuffer

    from voice.transports.webrtc import set_audio_jitter_buffer

    async def scenario() -> int:
        pc = RTCPeerConnection()
        try:
            receiver = pc.addTransceiver("audio").receiver
            set_audio_jitter_buffer(receiver, 1)
            buffer = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
            assert isinstance(buffer, JitterBuffer)
            return int(buffer._prefetch)
        finally:
            await pc.close()

    assert asyncio.run(scenario()) == 1
