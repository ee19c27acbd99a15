"""Whisper tiny.en through CTranslate2 directly, with the encoder window sized to the utterance.

`faster_whisper.transcribe()` always encodes a 30 s window (~370 ms here for any utterance).
Like whisper.cpp's `audio_ctx`, we encode only the utterance plus a short pad, which makes STT
~4x faster on short turns. That is outside Whisper's training regime and can trigger repetition
loops, so the decode length is capped by the audio duration and repeated phrases are cut.
"""

from __future__ import annotations

import re
from pathlib import Path

import ctranslate2
import numpy as np
import tokenizers
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import Tokenizer

from voice.audio import SAMPLE_RATE, int16_to_float
from voice.errors import ModelLoadError

# Spoken English rarely exceeds ~4 tokens per second; 8/s plus a floor leaves ample room.
TOKENS_PER_SECOND_CAP = 8
TOKENS_FLOOR = 16
MAX_DECODE_TOKENS = 224
MAX_WINDOW_FRAMES = 3000  # Whisper's 30 s


class WhisperSTT:
    name = "whisper"

    def __init__(self, model_dir: Path, threads: int = 1, pad_s: float = 1.0) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self.pad_s = pad_s
        try:
            self._model = ctranslate2.models.Whisper(
                str(model_dir),
                device="cpu",
                compute_type="int8",
                intra_threads=threads,
                inter_threads=1,
            )
            hf_tokenizer = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelLoadError(f"cannot load Whisper model from {model_dir}: {exc}") from exc
        self._tokenizer = Tokenizer(
            hf_tokenizer, multilingual=self._model.is_multilingual, task="transcribe", language="en"
        )
        self._features = FeatureExtractor(feature_size=self._model.n_mels)
        self._prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]

    def transcribe(self, pcm: np.ndarray) -> str:
        if len(pcm) == 0:
            return ""
        audio = int16_to_float(pcm)
        padded = np.concatenate([audio, np.zeros(int(self.pad_s * SAMPLE_RATE), np.float32)])
        mel = self._features(padded, padding=0)
        frames = min(mel.shape[-1] - mel.shape[-1] % 2, MAX_WINDOW_FRAMES)
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None, :, :frames]))
        duration_s = len(pcm) / SAMPLE_RATE
        max_length = min(MAX_DECODE_TOKENS, TOKENS_FLOOR + int(TOKENS_PER_SECOND_CAP * duration_s))
        result = self._model.generate(
            features,
            [self._prompt],
            beam_size=1,
            max_length=max_length,
            suppress_blank=True,
            suppress_tokens=[-1],
        )
        tokens = [t for t in result[0].sequences_ids[0] if t < self._tokenizer.eot]
        return cut_repetitions(self._tokenizer.decode(tokens).strip())


_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _normalize(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def cut_repetitions(text: str, max_repeats: int = 3) -> str:
    """Drop the loops a short-window Whisper falls into.

    A sentence identical to the one before it is dropped, and so is an unfinished last
    sentence that merely starts repeating an earlier one (the decode cap cut the loop there);
    a run of words that repeats back to back more than `max_repeats` times is kept once.
    """
    kept: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.findall(text)):
        if not sentence:
            continue
        if kept and _normalize(sentence) == _normalize(kept[-1]):
            continue
        kept.append(sentence)
    if len(kept) > 1 and kept[-1][-1] not in ".!?":
        tail = _normalize(kept[-1])
        if any(_normalize(earlier).startswith(tail) for earlier in kept[:-1]):
            kept.pop()
    words = " ".join(kept).split()
    for size in range(1, len(words) // (max_repeats + 1) + 1):
        i = 0
        while i + size * (max_repeats + 1) <= len(words):
            unit = [_normalize(w) for w in words[i : i + size]]
            repeats = 1
            while [
                _normalize(w) for w in words[i + repeats * size : i + (repeats + 1) * size]
            ] == unit:
                repeats += 1
            if repeats > max_repeats:
                words = words[: i + size] + words[i + repeats * size :]
            i += 1
    return " ".join(words)
