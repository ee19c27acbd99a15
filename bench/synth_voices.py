"""The synthetic users' voices: espeak-ng accents and variants, and Piper at varied speeds.

espeak-ng gives many timbres that are clearly not the agent's own voice (formant synthesis,
eight English accents, male and female variants, any rate and pitch). Piper adds neural,
natural-sounding speech at speeds other than the agent's. Both are deterministic here, which
the corpus needs: the same seed must give the same audio and the same ground truth.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE, read_wav, resample
from voice.errors import VoiceError

ESPEAK_ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
    "en-029",
)
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
# Piper's length scale (1.0 is the agent's own pace): slower and faster talkers.
PIPER_LENGTH_SCALES = (0.8, 0.85, 0.9, 1.1, 1.15, 1.2, 1.3, 1.4)


@dataclass(frozen=True)
class Voice:
    """One synthetic talker. `rate` is words per minute for espeak, length scale for Piper."""

    engine: str
    name: str
    rate: float
    pitch: int = 50

    def describe(self) -> dict[str, Any]:
        """The voice as manifest metadata, so results can be split by talker."""
        if self.engine == "piper":
            return {"engine": "piper", "voice": self.name, "length_scale": self.rate}
        return {
            "engine": "espeak-ng",
            "voice": self.name,
            "wpm": int(self.rate),
            "pitch": self.pitch,
        }


def draw_voice(rng: np.random.Generator) -> Voice:
    """A random talker: espeak-ng 60 % of the time (its voices are clearly not the agent's),
    Piper's voice at a speed other than the agent's 40 %.

    espeak-ng runs at 125-170 words per minute: faster, its formant speech gets hard for a
    small STT model (Whisper tiny.en: about 33 % WER above 160 wpm against 23 % below).
    """
    if rng.random() < 0.4:
        return Voice("piper", "en_US-joe-medium", float(rng.choice(PIPER_LENGTH_SCALES)))
    accent = str(rng.choice(ESPEAK_ACCENTS))
    variant = str(rng.choice(ESPEAK_VARIANTS))
    return Voice(
        "espeak",
        f"{accent}+{variant}",
        rate=float(rng.integers(125, 171)),
        pitch=int(rng.integers(25, 76)),
    )


class Speaker:
    """Turns text into 16 kHz mono int16 speech with either engine.

    Piper is loaded on first use (one ONNX session reused for every speed). Its VITS model
    draws unseeded noise inside ONNX Runtime, so the noise scales are set to zero: otherwise
    the same text comes out different on every run and the corpus would not be reproducible.
    """

    def __init__(self) -> None:
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise VoiceError(
                "espeak-ng is not installed; the synthetic corpus needs it: "
                "apt-get install espeak-ng"
            )
        self._espeak = espeak
        self._piper: Any = None

    def say(self, text: str, voice: Voice) -> np.ndarray:
        if voice.engine == "piper":
            return self._say_piper(text, voice.rate)
        return self._say_espeak(text, voice)

    def _say_espeak(self, text: str, voice: Voice) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="voice-synth-") as folder:
            wav = Path(folder) / "phrase.wav"
            command = [self._espeak, "-v", voice.name, "-s", str(int(voice.rate))]
            command += ["-p", str(voice.pitch), "-w", str(wav), "--", text]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0 or not wav.is_file():
                raise VoiceError(
                    f"espeak-ng failed for voice {voice.name}: {result.stderr.strip()}"
                )
            clip = read_wav(wav)
        return resample(clip.samples, clip.sample_rate, SAMPLE_RATE)

    def _say_piper(self, text: str, length_scale: float) -> np.ndarray:
        from piper.config import SynthesisConfig

        tts = self._piper_tts()
        tts._synthesis = SynthesisConfig(
            length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0
        )
        chunks = list(tts.synthesize(text, threading.Event()))
        return resample(np.concatenate(chunks), tts.sample_rate, SAMPLE_RATE)

    def _piper_tts(self) -> Any:
        if self._piper is None:
            from voice.providers.model_files import piper_voice_paths
            from voice.providers.piper_tts import PiperTTS

            model_path, config_path = piper_voice_paths()
            self._piper = PiperTTS(model_path, config_path, threads=1)
        return self._piper
