import wave

import numpy as np
import pytest

from voice.audio import (
    FRAME_SAMPLES,
    StreamResampler,
    read_wav,
    resample,
    split_frames,
    to_internal,
    write_wav,
)
from voice.errors import AudioInputError


def _write(path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())


def test_missing_empty_and_non_wav_files_are_refused(tmp_path):
    with pytest.raises(AudioInputError, match="no such file"):
        read_wav(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioInputError, match="empty"):
        read_wav(empty)
    text = tmp_path / "text.wav"
    text.write_text("this is not audio")
    with pytest.raises(AudioInputError, match="not a PCM WAV"):
        read_wav(text)
    with pytest.raises(AudioInputError, match="directory"):
        read_wav(tmp_path)


def test_truncated_wav_is_refused(tmp_path):
    path = tmp_path / "cut.wav"
    _write(path, (np.arange(16000) % 100).astype(np.int16), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioInputError, match="truncated"):
        read_wav(path)


def test_48k_stereo_is_mixed_down_and_resampled(tmp_path):
    t = np.arange(48000) / 48000
    left = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    stereo = np.stack([left, left], axis=1).reshape(-1)
    path = tmp_path / "stereo.wav"
    _write(path, stereo, 48000, channels=2)
    clip = read_wav(path)
    assert clip.sample_rate == 48000 and len(clip.samples) == 48000
    pcm = to_internal(clip)
    assert abs(len(pcm) - 16000) <= 2
    # the tone survives: dominant frequency stays at 440 Hz
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    assert abs(np.argmax(spectrum) * 16000 / len(pcm) - 440) < 5


@pytest.mark.parametrize("width", [1, 3, 4])
def test_other_sample_widths_decode_to_the_int16_scale(tmp_path, width):
    full_scale_half = {1: np.array([192], np.uint8), 3: None, 4: np.array([1 << 30], "<i4")}
    path = tmp_path / f"w{width}.wav"
    if width == 3:
        raw = (1 << 22).to_bytes(3, "little", signed=True)  # half of 24-bit full scale
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(3)
            wav.setframerate(8000)
            wav.writeframes(raw * 10)
    else:
        _write(path, np.repeat(full_scale_half[width], 10), 8000, width=width)
    samples = read_wav(path).samples
    assert np.all(np.abs(samples.astype(int) - 16384) <= 1)


@pytest.mark.parametrize("rate,length", [(8000, 1), (11025, 7919), (22050, 22051), (44100, 3)])
def test_resample_odd_rates_and_lengths(rate, length):
    samples = (np.random.default_rng(0).standard_normal(length) * 1000).astype(np.int16)
    out = resample(samples, rate, 16000)
    assert out.dtype == np.int16
    assert abs(len(out) - length * 16000 / rate) <= 1


def test_split_frames_pads_the_last_frame():
    frames = list(split_frames(np.ones(FRAME_SAMPLES * 2 + 5, dtype=np.int16)))
    assert [len(f) for f in frames] == [FRAME_SAMPLES] * 3
    assert frames[-1][:5].tolist() == [1] * 5 and not frames[-1][5:].any()


def test_stream_resampler_emits_whole_frames_and_keeps_duration():
    resampler = StreamResampler(22050)
    chunks = [np.full(n, 1000, dtype=np.int16) for n in (1, 5000, 333, 22050)]
    frames = []
    for chunk in chunks:
        frames += resampler.push(chunk)
    frames += resampler.push(np.zeros(0, np.int16), last=True)
    assert all(len(f) == FRAME_SAMPLES for f in frames)
    expected = sum(len(c) for c in chunks) * 16000 / 22050
    assert abs(len(frames) * FRAME_SAMPLES - expected) < FRAME_SAMPLES + 2


def test_write_then_read_round_trip(tmp_path):
    samples = np.arange(-1000, 1000, dtype=np.int16)
    write_wav(tmp_path / "x.wav", samples)
    assert np.array_equal(read_wav(tmp_path / "x.wav").samples, samples)
