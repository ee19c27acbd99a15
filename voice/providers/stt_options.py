"""Whisper decoding options, and how the [stt] config section maps onto them.

Kept apart from `whisper_stt` so config validation and the bench can read them without
loading CTranslate2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voice.config import STTConfig


@dataclass(frozen=True)
class DecodeOptions:
    """How one utterance is decoded. The defaults are the best point of `docs/stt.md`.

    Each field says why it exists; `voice bench --stage stt` measures every one of them.
    """

    # Silence appended after the utterance. With 1 s the decoder often does not stop: it says
    # the sentence again (a loop); 3 s leaves it room to end (docs/stt.md).
    pad_s: float = 3.0
    min_window_s: float = 0.0  # encoder window at least this long (0: utterance + pad)
    beam_size: int = 2  # 2 takes most of beam 5's gain in words at a fraction of its cost
    # Beam search ranks finished hypotheses by log-prob / length**length_penalty. At 1 (the
    # CTranslate2 default) a confident sentence said twice outscores the sentence once: with
    # the silence pad the decoder often goes on to repeat it (docs/stt.md, "Length penalty").
    length_penalty: float = 1.0
    repetition_penalty: float = 1.0  # CTranslate2's penalty on already generated tokens
    no_repeat_ngram_size: int = 0  # forbid any n-gram from repeating (0: off)
    # Retries of a failed decode, in order: "full" (30 s window, greedy), "wN" (an N s window,
    # greedy), or a sampling temperature.
    fallback: tuple[str | float, ...] = ("w10",)
    logprob_threshold: float = -1.0
    # Retry a decode whose average log-prob is below the threshold (faster-whisper does). Off:
    # on the synthetic corpus those retries did not recover words (docs/stt.md) and cost p95;
    # loops (length cap, a token run twice, gzip ratio) are always retried.
    retry_low_logprob: bool = False
    compression_ratio_threshold: float = 2.4
    no_speech_threshold: float = 0.6
    no_speech_alone: float = 0.8  # above this the no-speech probability alone drops the text


def parse_fallback(value: str) -> tuple[str | float, ...]:
    """`"full,0.2"` -> ("full", 0.2); "" or "none" -> () (no retry)."""
    steps: list[str | float] = []
    for item in filter(None, (v.strip() for v in value.replace("|", ",").split(","))):
        if item == "none":
            continue
        if item == "full" or (item.startswith("w") and item[1:].replace(".", "", 1).isdigit()):
            steps.append(item)
            continue
        try:
            temperature = float(item)
        except ValueError:
            raise ValueError(
                f"stt fallback step '{item}': expected 'full', 'wN' or a temperature"
            ) from None
        if not 0 < temperature <= 1.5:
            raise ValueError(f"stt fallback temperature {temperature} is outside (0, 1.5]")
        steps.append(temperature)
    return tuple(steps)


def decode_options(stt: STTConfig) -> DecodeOptions:
    """The [stt] config section as decoding options."""
    return DecodeOptions(
        pad_s=stt.pad_s,
        min_window_s=stt.min_window_s,
        beam_size=stt.beam_size,
        length_penalty=stt.length_penalty,
        repetition_penalty=stt.repetition_penalty,
        no_repeat_ngram_size=stt.no_repeat_ngram_size,
        fallback=parse_fallback(stt.fallback),
        logprob_threshold=stt.logprob_threshold,
        retry_low_logprob=stt.retry_low_logprob,
        compression_ratio_threshold=stt.compression_ratio_threshold,
        no_speech_threshold=stt.no_speech_threshold,
        no_speech_alone=stt.no_speech_alone,
    )
