"""Reusing an earlier pause's transcript: only the new audio is decoded, and the words join."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest

from bench.corpus import load_corpus
from bench.measure import words
from voice.audio import SAMPLE_RATE
from voice.config import load_config
from voice.providers.prefix_stt import PrefixReuseSTT, join_transcripts
from voice.providers.registry import load_stt


class RecordingFakeSTT:
    """A fake STT (no model): says how many samples it was given, and remembers each call."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def transcribe(self, pcm: np.ndarray) -> str:
        self.calls.append(len(pcm))
        return f"Heard {len(pcm)}."


def audio(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-3000, 3000, round(seconds * SAMPLE_RATE)).astype(np.int16)


def test_a_later_pause_decodes_only_the_new_audio() -> None:
    fake = RecordingFakeSTT()
    stt = PrefixReuseSTT(fake, min_tail_s=1.0)
    utterance = audio(5.0)
    first = stt.transcribe(utterance[: 2 * SAMPLE_RATE])
    assert first == "Heard 32000."
    assert stt.transcribe(utterance) == "Heard 32000 heard 48000."
    assert fake.calls == [32000, 48000] and stt.reused == 1


def test_too_little_new_audio_is_decoded_whole_and_the_longest_prefix_wins() -> None:
    fake = RecordingFakeSTT()
    stt = PrefixReuseSTT(fake, min_tail_s=1.0)
    utterance = audio(6.0)
    stt.transcribe(utterance[: 1 * SAMPLE_RATE])
    stt.transcribe(utterance[: round(1.5 * SAMPLE_RATE)])  # 0.5 s new: decoded whole
    assert fake.calls == [16000, 24000]
    stt.transcribe(utterance[: 3 * SAMPLE_RATE])  # 1.5 s after the 1.5 s prefix
    assert fake.calls[-1] == 24000


def test_another_utterance_never_reuses_a_prefix() -> None:
    fake = RecordingFakeSTT()
    stt = PrefixReuseSTT(fake)
    stt.transcribe(audio(2.0, seed=1))
    other = audio(4.0, seed=2)
    stt.transcribe(other)
    assert fake.calls[-1] == len(other) and stt.reused == 0


def test_join_drops_the_segment_full_stop_but_not_a_question() -> None:
    assert join_transcripts("That is to say.", "Much of political philosophy.") == (
        "That is to say much of political philosophy."
    )
    assert join_transcripts("Is it?", "Yes it is.") == "Is it? Yes it is."
    assert join_transcripts("And then...", "I left.") == "And then I left."
    assert join_transcripts("", "Hello.") == "Hello."


@pytest.mark.slow
def test_lecture_c_at_its_holds_reads_like_one_decode(real_corpus: Path) -> None:
    """Real Whisper on lecture-c: transcribing at two holds and at the end, with reuse, gives
    nearly the words of one decode of the whole, and the later calls decode only what is new."""
    config = load_config(None)
    config.stt.reuse_prefix = False
    whisper = load_stt(config)
    stt = PrefixReuseSTT(whisper)
    case = next(c for c in load_corpus(real_corpus).cases if c.id == "lecture-c")
    pcm = case.load_pcm()
    for cut_s in (4.44, 10.7):  # ends of speech before two holds the VAD finds in the slice
        stt.transcribe(pcm[: round(cut_s * SAMPLE_RATE)])
    reused = stt.transcribe(pcm)
    whole = whisper.transcribe(pcm)
    assert stt.reused == 2
    assert jiwer.wer(words(whole), words(reused)) <= 0.15, (whole, reused)
