"""G.711 and the unbuffered rate change: speech survives the phone's path, and nothing is held."""

from __future__ import annotations

import numpy as np
import pytest

from telephony.g711 import PhoneDecoder, PhoneEncoder, decode, encode
from voice.transports.wire_rate import Downsampler, Upsampler


def tone(freq: float, rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_round_trip_keeps_the_signal(law: str) -> None:
    pcm = tone(440, 8000)
    back = decode(encode(pcm, law), law)  # type: ignore[arg-type]
    assert len(encode(pcm, law)) == len(pcm)  # type: ignore[arg-type]
    snr = 10 * np.log10(np.sum(pcm.astype(float) ** 2) / np.sum((pcm - back.astype(float)) ** 2))
    assert snr > 30  # G.711 gives ~38 dB on a loud tone


def test_a_phone_call_round_trip_in_20_ms_chunks_keeps_a_voice_band_tone() -> None:
    pcm16 = tone(1000, 16000, 1.0)
    encoder, decoder = PhoneEncoder(), PhoneDecoder()
    out = np.concatenate(
        [decoder.push(encoder.push(pcm16[i : i + 320])) for i in range(0, len(pcm16), 320)]
    )
    assert len(out) == len(pcm16)  # nothing held back: every chunk came out at once
    middle = slice(1600, -1600)
    gain = np.std(out[middle].astype(float)) / np.std(pcm16[middle].astype(float))
    assert 0.9 < gain < 1.1


def test_the_phone_band_removes_what_8_khz_cannot_carry() -> None:
    high = tone(6000, 16000, 0.5)  # above the 4 kHz Nyquist of the phone
    out = Downsampler(from_rate=16000, to_rate=8000).push(high)
    assert np.std(out[200:].astype(float)) < 0.01 * np.std(high.astype(float))


@pytest.mark.parametrize("rate", [8000, 48000])
def test_up_then_down_returns_the_pipeline_audio_a_few_ms_late(rate: int) -> None:
    pcm = tone(300, 16000, 0.5)
    if rate > 16000:
        back = Downsampler(from_rate=rate).push(Upsampler(to_rate=rate).push(pcm))
    else:
        back = Upsampler(from_rate=rate, to_rate=16000).push(
            Downsampler(from_rate=16000, to_rate=rate).push(pcm)
        )
    assert len(back) == len(pcm)
    delays = range(0, 80)  # at most 5 ms
    errors = [np.std(back[d + 400 :].astype(float) - pcm[400 : len(pcm) - d]) for d in delays]
    best = int(np.argmin(errors))
    assert best <= 4 * 16  # both filters together: at most 4 ms at 16 kHz
    assert errors[best] < 0.05 * np.std(pcm.astype(float))


def test_a_rate_that_is_no_whole_multiple_is_refused() -> None:
    with pytest.raises(ValueError, match="whole multiple"):
        Downsampler(44100, 16000)
