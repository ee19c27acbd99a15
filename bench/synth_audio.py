"""Signal building blocks for the synthetic corpus: trimming, levels, noise and channels.

Everything works on float64 arrays on the int16 scale at 16 kHz, and everything that draws
random numbers takes a `numpy.random.Generator`, so a corpus is a pure function of its seed.
Ground truth comes from here: `voiced_bounds` decides where speech starts and stops, and the
generator then cuts each phrase there, so the manifest's times are exact by construction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from voice.audio import SAMPLE_RATE, resample

ENERGY_HOP = 80  # 5 ms frames for the voiced/unvoiced energy decision
# A 5 ms frame is voiced when its RMS is within 35 dB of the phrase's loudest frame. Quieter
# tails (breath, the faint offglides of some espeak voices) are not heard next to the speech,
# and no VAD counts them as speech.
VOICED_DB = -35.0
FADE_SAMPLES = 80  # 5 ms ramps at the cut points so trimming never adds a click
TELEPHONE_RATE = 8000
TELEPHONE_BAND_HZ = (300.0, 3400.0)
MU = 255.0

_TELEPHONE_SOS = signal.butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")


def voiced_bounds(samples: np.ndarray) -> tuple[int, int]:
    """Sample range [start, stop) of the voiced part of one synthesized phrase.

    The decision is energy in 5 ms frames against the phrase's own peak (not an absolute
    level), so it does not depend on how loud a voice happens to be. Everything outside the
    range is silence or an inaudible tail that the generator throws away.
    """
    frames = len(samples) // ENERGY_HOP
    if frames == 0:
        raise ValueError("the phrase is shorter than one 5 ms frame")
    power = np.square(samples[: frames * ENERGY_HOP].astype(np.float64)).reshape(frames, -1)
    rms = np.sqrt(power.mean(axis=1))
    if rms.max() <= 0:
        raise ValueError("the phrase is digital silence")
    voiced = np.flatnonzero(rms >= rms.max() * 10 ** (VOICED_DB / 20))
    return int(voiced[0]) * ENERGY_HOP, (int(voiced[-1]) + 1) * ENERGY_HOP


def trim_voiced(samples: np.ndarray) -> np.ndarray:
    """The voiced part of a phrase, with 5 ms fades inside it so the cut never clicks.

    The fades sit inside the voiced range, so the first and last samples remain the onset and
    the end of speech (the outermost few samples of a fade round to near-silence, well under
    a millisecond).
    """
    start, stop = voiced_bounds(samples)
    voiced = samples[start:stop].astype(np.float64)
    ramp = min(FADE_SAMPLES, len(voiced) // 2)
    if ramp:
        rise = np.sin((np.arange(ramp) + 0.5) / ramp * np.pi / 2) ** 2
        voiced[:ramp] *= rise
        voiced[-ramp:] *= rise[::-1]
    return voiced


def set_peak(samples: np.ndarray, peak_dbfs: float) -> np.ndarray:
    """Scale so the loudest sample sits at `peak_dbfs` (voices differ by 10 dB or more)."""
    peak = float(np.max(np.abs(samples)))
    return samples * (32767.0 * 10 ** (peak_dbfs / 20) / peak) if peak > 0 else samples


def colored_noise(length: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a 1/f**exponent power spectrum above 20 Hz (0 white, 1 pink,
    2 brown), with unit RMS.

    Below 20 Hz is cut: a brown spectrum would otherwise put most of its power into inaudible
    rumble, and the stated SNR would not describe what a listener (or a VAD) hears.
    """
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length, d=1.0 / SAMPLE_RATE)
    shape = np.zeros_like(freqs)
    audible = freqs >= 20.0
    shape[audible] = (freqs[audible] / 20.0) ** (-exponent / 2)
    noise = np.fft.irfft(spectrum * shape, n=length)
    return noise / np.sqrt(np.mean(np.square(noise)))


def at_snr(noise: np.ndarray, speech_power: float, snr_db: float) -> np.ndarray:
    """Scale noise so that speech power / noise power is `snr_db`.

    `speech_power` is the mean square of the voiced samples only (pauses excluded), so the SNR
    means the same thing for a short command and for a turn with long holds.
    """
    noise_power = float(np.mean(np.square(noise)))
    return noise * np.sqrt(speech_power / 10 ** (snr_db / 10) / noise_power)


def mu_law(samples: np.ndarray) -> np.ndarray:
    """G.711-style μ-law companding: encode to 8-bit codes (sign + 7-bit magnitude) and
    decode again.

    Done in numpy because only the quantization error matters here, not the bit layout.
    """
    x = np.clip(samples / 32768.0, -1.0, 1.0)
    magnitude = np.log1p(MU * np.abs(x)) / np.log1p(MU)
    code = np.round(magnitude * 127.0) / 127.0
    return np.sign(x) * np.expm1(code * np.log1p(MU)) / MU * 32768.0


def telephone(samples: np.ndarray, companding: bool) -> np.ndarray:
    """A narrowband phone line: 300-3400 Hz band-pass, 8 kHz sampling, optional μ-law.

    The band-pass runs forward and backward (zero phase) so it does not move speech in time;
    soxr's resampler is linear phase with its delay compensated, so the timeline holds too.
    """
    band = signal.sosfiltfilt(_TELEPHONE_SOS, samples)
    narrow = resample(to_int16(band), SAMPLE_RATE, TELEPHONE_RATE).astype(np.float64)
    if companding:
        narrow = mu_law(narrow)
    wide = resample(to_int16(narrow), TELEPHONE_RATE, SAMPLE_RATE).astype(np.float64)
    # An odd length loses or gains one sample in the round trip; keep the timeline's length.
    return np.pad(wide, (0, max(0, len(samples) - len(wide))))[: len(samples)]


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Round and clip to int16 (callers keep peaks below full scale, so clipping is rare)."""
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


def limit_peak(samples: np.ndarray, ceiling_dbfs: float = -1.0) -> np.ndarray:
    """Scale the finished mix down if noise pushed it over the ceiling (never up)."""
    peak = float(np.max(np.abs(samples)))
    ceiling = 32767.0 * 10 ** (ceiling_dbfs / 20)
    return samples * (ceiling / peak) if peak > ceiling else samples


def _filtered_noise(
    length: int, band: tuple[float, float] | float, btype: str, rng: np.random.Generator
) -> np.ndarray:
    sos = signal.butter(4, band, btype=btype, fs=SAMPLE_RATE, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(length))
    return noise / np.max(np.abs(noise))


def _decay(length: int, attack_s: float, decay_s: float) -> np.ndarray:
    """An envelope that rises linearly over `attack_s` and then decays exponentially.

    It starts at one attack step (not at zero) so the burst's first sample is its onset.
    """
    t = np.arange(length) / SAMPLE_RATE
    attack = np.minimum((t + 1.0 / SAMPLE_RATE) / attack_s, 1.0)
    return attack * np.exp(-np.maximum(t - attack_s, 0.0) / decay_s)


def cough(rng: np.random.Generator) -> np.ndarray:
    """One or two breathy bursts (band-passed noise), 100-400 ms in all."""
    parts: list[np.ndarray] = []
    for index in range(int(rng.integers(1, 3))):
        if index:
            parts.append(np.zeros(int(rng.uniform(0.04, 0.08) * SAMPLE_RATE)))
        length = int(rng.uniform(0.1, 0.16) * SAMPLE_RATE)
        low = rng.uniform(250, 500)
        burst = _filtered_noise(length, (low, low * rng.uniform(4, 8)), "bandpass", rng)
        parts.append(burst * _decay(length, 0.01, rng.uniform(0.03, 0.06)))
    return np.concatenate(parts)


def door_slam(rng: np.random.Generator) -> np.ndarray:
    """A low thud with a sharp attack and a ringing decay, 150-400 ms."""
    length = int(rng.uniform(0.15, 0.4) * SAMPLE_RATE)
    thud = _filtered_noise(length, rng.uniform(250, 500), "lowpass", rng)
    crack = _filtered_noise(length, 2000.0, "highpass", rng) * _decay(length, 0.001, 0.008)
    return thud * _decay(length, 0.002, rng.uniform(0.04, 0.1)) + 0.3 * crack


def keyboard(rng: np.random.Generator) -> np.ndarray:
    """A train of 4-10 key clicks (short high-passed ticks) at typing pace."""
    clicks: list[np.ndarray] = []
    for _ in range(int(rng.integers(4, 11))):
        length = int(rng.uniform(0.004, 0.008) * SAMPLE_RATE)
        click = _filtered_noise(length, 1500.0, "highpass", rng) * _decay(length, 0.0005, 0.002)
        clicks.append(click * rng.uniform(0.5, 1.0))
        clicks.append(np.zeros(int(rng.uniform(0.08, 0.25) * SAMPLE_RATE)))
    return np.concatenate(clicks[:-1])


NOISE_BURSTS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "cough": cough,
    "door": door_slam,
    "keyboard": keyboard,
}
