"""The input clock re-frames a phone's packets into 20 ms frames, each carrying its own 20 ms of
the caller's G.711 bytes, whatever the packet size, and silence it makes up is G.711 silence."""

from __future__ import annotations

import numpy as np
import pytest

from telephony.g711 import Law, PhoneDecoder, encode, wire_format
from voice.audio import FRAME_NS, FRAME_SAMPLES
from voice.transports.input_clock import InputClock

T0 = 7_000_000_000


def speech_like(samples: int, seed: int = 1) -> np.ndarray:
    """8 kHz audio with no two 20 ms alike, so a misaligned slice cannot pass for another."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(samples) * 3000).clip(-32000, 32000).astype(np.int16)


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_wire_bytes_stay_in_step_with_the_pcm_over_10_20_and_30_ms_packets(law: Law) -> None:
    clock, decoder, wire = InputClock(wire_format(law)), PhoneDecoder(law), wire_format(law)
    sizes_ms = [20, 10, 30, 30, 10, 20, 10, 10, 30, 20, 30, 10] * 3
    payload = encode(speech_like(8 * sum(sizes_ms)), law)
    pcm_sent: list[np.ndarray] = []
    frames = []
    offset, now = 0, T0
    for ms in sizes_ms:
        packet = payload[offset : offset + 8 * ms]
        offset += len(packet)
        now += ms * 1_000_000
        pcm = decoder.push(packet)
        pcm_sent.append(pcm)
        frames.extend(clock.push(pcm, now, packet))
    all_pcm = np.concatenate(pcm_sent)
    assert len(frames) == sum(sizes_ms) // 20
    for i, frame in enumerate(frames):
        assert frame.wire is not None
        assert (frame.wire.encoding, frame.wire.sample_rate) == (wire.encoding, 8000)
        assert frame.wire.data == payload[i * 160 : (i + 1) * 160]
        assert np.array_equal(frame.pcm, all_pcm[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_silence_the_clock_makes_up_is_g711_silence_and_keeps_the_bytes_aligned(law: Law) -> None:
    clock, decoder = InputClock(wire_format(law)), PhoneDecoder(law)
    silent = encode(np.zeros(160, dtype=np.int16), law)
    payload = encode(speech_like(8 * 90, seed=2), law)
    # 30 ms (one frame and 10 ms pending), then nothing came: a silence frame is filled in
    frames = clock.push(decoder.push(payload[:240]), T0, payload[:240])
    filled = clock.silence()
    assert filled is not None and filled.wire is not None
    assert filled.wire.data == silent and not filled.pcm.any()
    assert filled.media_time_ns == frames[-1].media_time_ns + FRAME_NS
    # a loss fill pushed as PCM alone: its bytes are silence of the same length
    frames += clock.push(np.zeros(FRAME_SAMPLES, dtype=np.int16), T0 + 60_000_000)
    frames += clock.push(decoder.push(payload[240:]), T0 + 100_000_000, payload[240:])
    data = [f.wire.data for f in frames if f.wire is not None]
    assert len(data) == len(frames) == 5  # 30 + 20 + 60 ms pushed: 10 ms still pending
    # The first packet's last 10 ms go on after the made-up frame, then the loss fill's bytes.
    assert data[0] == payload[:160]
    assert data[1] == payload[160:240] + silent[:80]
    assert data[2] == silent[80:] + payload[240:320]
    assert b"".join(data[3:]) == payload[320:640]


def test_a_clock_without_a_wire_format_gives_frames_without_wire_bytes() -> None:
    clock = InputClock()
    frames = clock.push(np.ones(FRAME_SAMPLES * 2, dtype=np.int16), T0, b"\x00" * 320)
    silence = clock.silence()
    assert [f.wire for f in frames] == [None, None]
    assert silence is not None and silence.wire is None
