"""Whisper through CTranslate2 directly, with the encoder window sized to the utterance.

`faster_whisper.transcribe()` always encodes a 30 s window (~370 ms here for any utterance).
Like whisper.cpp's `audio_ctx`, we encode only the utterance plus a short pad, which makes STT
several times faster on short turns. That is outside Whisper's training regime: on noisy or
telephone-band speech, and on abrupt cuts, the decoder can fall into repetition loops or
invent "Thank you." on noise. So every decode is judged by the decoder's own signals, as
faster-whisper does for its 30 s windows:

- a decode *fails* when it loops: it ran into the length cap without ending, decoded a run of
  3+ tokens twice in a row, or its text compresses too well (gzip ratio above
  `compression_ratio_threshold`); with `retry_low_logprob`, also when its average
  log-probability is below `logprob_threshold` (faster-whisper's rule; measured not to pay here);
- a failed decode is retried, by default on a 10 s window (nearer Whisper's 30 s training
  regime, where the short window's loops vanish), or as `fallback` says (the 30 s window,
  temperature sampling); the first good attempt is kept, else the most probable;
- a decode whose no-speech probability is above `no_speech_threshold` *and* that failed the
  log-probability test is silence or noise: the transcript is empty, so nothing reaches the LLM.

`transcribe(pcm) -> str` keeps the `STT` protocol; `transcribe_detailed` also returns the
signals (and accepts a forced `prefix`); `transcribe_partial` is the cheap pass for partial
transcripts while the user speaks (`stt_partials.PartialPolicy` says when).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import ctranslate2
import numpy as np
import tokenizers
from faster_whisper.feature_extractor import FeatureExtractor
from faster_whisper.tokenizer import Tokenizer

from voice.audio import SAMPLE_RATE, int16_to_float
from voice.errors import ModelLoadError
from voice.providers.stt_options import DecodeOptions

# Spoken English rarely exceeds ~4 tokens per second (punctuation included); a loop runs into
# this cap, which bounds its cost and marks it as a failed decode.
TOKENS_PER_SECOND_CAP = 5
TOKENS_FLOOR = 10
MAX_DECODE_TOKENS = 224
# An echo the cap cut short is taken as the sentence said once only if that sentence can be
# the whole utterance: this many words per second of it (after the endpointer's pre-roll), a
# brisk rate. A loop that began before the utterance was transcribed (the lecture slice that
# said "That is to say much of political philosophy." three times over 4.6 s: 1.7 words/s)
# or a second sentence lost to the echo leaves too few words and is retried.
ECHO_MIN_WORDS_PER_S = 3.5
ECHO_PREROLL_S = 0.2
MAX_WINDOW_FRAMES = 3000  # Whisper's 30 s
# Silence after a barge-in snippet: a short window keeps the quick STT at tens of ms; a loop
# costs nothing here (the decode is capped at a few tokens and repetitions are cut).
SNIPPET_PAD_S = 1.0
FRAMES_PER_SECOND = 100  # mel hop of 10 ms


@dataclass(frozen=True)
class Transcript:
    """A transcript with the decoder's own judgement of it."""

    text: str
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    window_s: float = 0.0  # encoder window of the kept decode
    passes: int = 0  # decodes run (1 + retries)
    dropped: str = ""  # why the text was withheld: "" | "no_speech" | "silence"
    tokens: list[int] = field(default_factory=list, repr=False)


@dataclass
class _Attempt:
    tokens: list[int]
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    looped: bool  # ran into the length cap, or decoded a token run twice in a row
    window_s: float


def compression_ratio(text: str) -> float:
    """gzip ratio of the text, faster-whisper's loop detector: loops compress well."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class WhisperSTT:
    """Whisper (tiny.en by default) on CTranslate2 with utterance-sized windows and guards."""

    name = "whisper"

    def __init__(
        self,
        model_dir: Path,
        threads: int = 1,
        pad_s: float | None = None,
        options: DecodeOptions | None = None,
        compute_type: str = "int8",
    ) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self.options = options or DecodeOptions()
        if pad_s is not None:
            self.options = replace(self.options, pad_s=pad_s)
        try:
            self._model = ctranslate2.models.Whisper(
                str(model_dir),
                device="cpu",
                compute_type=compute_type,
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

    @property
    def pad_s(self) -> float:
        return self.options.pad_s

    def transcribe(self, pcm: np.ndarray) -> str:
        return self.transcribe_detailed(pcm).text

    def transcribe_partial(self, pcm: np.ndarray) -> str:
        """A cheap transcript of the audio so far, while the user still speaks: one greedy
        decode, no retry (a partial that fails is simply replaced by the next one)."""
        opts = replace(self.options, beam_size=1, fallback=())
        return self.transcribe_detailed(pcm, options=opts).text

    def transcribe_snippet(self, pcm: np.ndarray) -> Transcript:
        """The words of a fraction of a second of speech over the bot (barge-in): one greedy
        decode, no retry, and no no-speech rule. The VAD has already said it is speech, and on
        a 0.2-0.4 s snippet Whisper's no-speech probability is high whatever was said (it
        emptied most snippets of the overlay corpus, docs/bargein.md). The average
        log-probability comes with the text: the barge-in policy does not let unsure words
        interrupt, and discounts Whisper's phantom words."""
        opts = replace(
            self.options,
            beam_size=1,
            fallback=(),
            pad_s=SNIPPET_PAD_S,
            no_speech_threshold=1.01,
            no_speech_alone=1.01,
        )
        return self.transcribe_detailed(pcm, options=opts)

    def transcribe_detailed(
        self, pcm: np.ndarray, prefix: str = "", options: DecodeOptions | None = None
    ) -> Transcript:
        """Transcribe one utterance (16 kHz mono int16) and say how sure the decoder is.

        `prefix`: words already known (a partial transcript's stable part), forced as the
        start of the decode. Measured on CTranslate2 4.8 it saves no time (forced tokens
        still cost a decoder step each), so callers leave it empty unless re-measured; a
        retry drops it.
        """
        opts = options or self.options
        if len(pcm) == 0:
            return Transcript("", dropped="silence")
        audio = int16_to_float(pcm)
        duration_s = len(pcm) / SAMPLE_RATE
        prefix_tokens = self._tokenizer.encode(" " + prefix.strip()) if prefix.strip() else []
        cap = len(prefix_tokens) + min(
            MAX_DECODE_TOKENS, TOKENS_FLOOR + int(TOKENS_PER_SECOND_CAP * duration_s)
        )
        window_s = max(duration_s + opts.pad_s, opts.min_window_s)
        attempts = [self._decode(audio, window_s, opts, 0.0, cap, prefix_tokens)]
        for step in opts.fallback:
            if not self._failed(attempts[-1], opts):
                break
            if isinstance(step, str):  # "full" or "wN": a longer window, greedy, no prefix
                retry_window = 30.0 if step == "full" else max(window_s, float(step[1:]))
                attempts.append(self._decode(audio, retry_window, opts, 0.0, cap, []))
            else:
                attempts.append(self._decode(audio, window_s, opts, step, cap, []))
        good = [a for a in attempts if not self._failed(a, opts)]
        best = good[0] if good else max(attempts, key=self._rank)
        # Silence or noise: the decoder itself says there is no speech, and either is unsure of
        # its text or is nearly certain there is no speech ("you" on silence scores -0.97).
        no_speech = attempts[0].no_speech_prob
        if no_speech > opts.no_speech_threshold and (
            best.avg_logprob < opts.logprob_threshold or no_speech > opts.no_speech_alone
        ):
            return self._result(best, len(attempts), "", "no_speech")
        return self._result(best, len(attempts), cut_repetitions(best.text), "")

    @staticmethod
    def _rank(attempt: _Attempt) -> tuple[bool, float]:
        return (not attempt.looped, attempt.avg_logprob)

    @staticmethod
    def _failed(attempt: _Attempt, opts: DecodeOptions) -> bool:
        return (
            attempt.looped
            or attempt.compression_ratio > opts.compression_ratio_threshold
            or (opts.retry_low_logprob and attempt.avg_logprob < opts.logprob_threshold)
        )

    @staticmethod
    def _result(attempt: _Attempt, passes: int, text: str, dropped: str) -> Transcript:
        return Transcript(
            text=text,
            avg_logprob=round(attempt.avg_logprob, 4),
            no_speech_prob=round(attempt.no_speech_prob, 4),
            compression_ratio=round(attempt.compression_ratio, 3),
            window_s=round(attempt.window_s, 2),
            passes=passes,
            dropped=dropped,
            tokens=attempt.tokens,
        )

    def _echo(self, text: str, cut_at_cap_s: float | None = None) -> bool:
        """A decode that said a whole sentence again: "What is the weather in Paris? What is
        the weather in Paris?". Whisper does this on short utterances; the sentence was heard,
        only repeated, and `cut_repetitions` keeps it once. Not a loop, so no retry (a retry
        on a 10 s window cost ~350-500 ms on such a turn). It may end by itself, or run on
        into the length cap ("... Paris? What is the"); `cut_at_cap_s` is then the
        utterance's duration, and the sentence must be able to cover it (words per second,
        above). A repetition inside a sentence, or one left unfinished, still is a loop."""
        once = cut_repetitions(text)
        if once == text or not ends_sentence(once):
            return False
        if cut_at_cap_s is None and not ends_sentence(text):
            return False
        if cut_at_cap_s is not None:
            speech_s = max(cut_at_cap_s - ECHO_PREROLL_S, 0.1)
            if len(once.split()) < ECHO_MIN_WORDS_PER_S * speech_s:
                return False
        return not repeats_back_to_back(self._tokenizer.encode(" " + once))

    def _features_for(self, audio: np.ndarray, window_s: float) -> ctranslate2.StorageView:
        """Log-mel features of the audio in a window of `window_s` (padded with silence).

        Whisper clamps log-mel values at (max - 8) and then maps x -> (x + 4) / 4, so padded
        silence is the constant `max - 2`: we compute the STFT over the audio and 200 ms of
        silence only and fill the rest of the window with that constant (the pad is free).
        """
        frames = min(int(window_s * FRAMES_PER_SECOND), MAX_WINDOW_FRAMES)
        frames -= frames % 2
        tail = np.zeros(SAMPLE_RATE // 5, np.float32)
        mel = self._features(np.concatenate([audio, tail]), padding=0)[:, :frames]
        if mel.shape[-1] < frames:
            floor = float(mel.max()) - 2.0
            mel = np.pad(mel, ((0, 0), (0, frames - mel.shape[-1])), constant_values=floor)
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(mel, dtype=np.float32)[None])

    def _decode(
        self,
        audio: np.ndarray,
        window_s: float,
        opts: DecodeOptions,
        temperature: float,
        cap: int,
        prefix_tokens: list[int],
    ) -> _Attempt:
        features = self._features_for(audio, window_s)
        sampling = temperature > 0
        result = self._model.generate(
            features,
            [self._prompt + prefix_tokens],
            beam_size=1 if sampling else opts.beam_size,
            length_penalty=opts.length_penalty,
            sampling_temperature=temperature if sampling else 1.0,
            sampling_topk=0 if sampling else 1,
            # CTranslate2 4.x returns at most max_length // 2 tokens for Whisper (measured).
            max_length=2 * cap,
            repetition_penalty=opts.repetition_penalty,
            no_repeat_ngram_size=opts.no_repeat_ngram_size,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        ids = result.sequences_ids[0]  # the forced prefix included
        tokens = [t for t in ids if t < self._tokenizer.eot]
        text = self._tokenizer.decode(tokens).strip()
        # CTranslate2 scores are the log-probability summed and divided by the length
        # (length_penalty 1); faster-whisper's avg_logprob divides by length + 1 (the EOT).
        length = len(ids)
        avg_logprob = result.scores[0] * length / (length + 1) if result.scores else 0.0
        return _Attempt(
            tokens=tokens,
            text=text,
            avg_logprob=float(avg_logprob),
            no_speech_prob=float(result.no_speech_prob),
            compression_ratio=compression_ratio(text),
            looped=(
                not self._echo(text, cut_at_cap_s=len(audio) / SAMPLE_RATE)
                if len(ids) >= cap
                else repeats_back_to_back(tokens) and not self._echo(text)
            ),
            window_s=min(window_s, MAX_WINDOW_FRAMES / FRAMES_PER_SECOND),
        )


def ends_sentence(text: str) -> bool:
    return text.rstrip()[-1:] in (".", "!", "?")


def repeats_back_to_back(tokens: list[int], min_size: int = 3) -> bool:
    """A run of `min_size`+ tokens decoded twice in a row: the decoder's own loop, token-exact
    (a speaker repeating a word is rarely decoded to the identical 3-token run)."""
    n = len(tokens)
    for size in range(min_size, n // 2 + 1):
        for i in range(n - 2 * size + 1):
            if tokens[i : i + size] == tokens[i + size : i + 2 * size]:
                return True
    return False


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
