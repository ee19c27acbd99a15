"""The STT bench's pure parts: option specs, loop counting, the phone-band variant."""

from __future__ import annotations

import numpy as np
import pytest

from bench.stt_bench import has_loop, parse_option, phone_band, speech_onset, split_specs
from voice.audio import SAMPLE_RATE
from voice.providers.stt_options import parse_fallback


def test_option_specs_parse_and_bad_ones_are_refused():
    assert parse_option("ours:beam=2,fb=full|0.2") == ("ours", {"beam": "2", "fb": "full|0.2"})
    assert parse_option("stock") == ("stock", {})
    with pytest.raises(ValueError, match="unknown STT option"):
        parse_option("whisperx")
    with pytest.raises(ValueError, match="not key=value"):
        parse_option("ours:beam")
    assert split_specs(["stock;ours:pad=3", "ours"]) == ["stock", "ours:pad=3", "ours"]


def test_fallback_steps():
    assert parse_fallback("full, 0.2") == ("full", 0.2)
    assert parse_fallback("w10|full") == ("w10", "full")
    assert parse_fallback("none") == ()
    with pytest.raises(ValueError):
        parse_fallback("fast")
    with pytest.raises(ValueError):
        parse_fallback("3.0")


def test_a_loop_is_a_repeated_phrase_the_reference_does_not_have():
    looped = (
        "That is to say much of political philosophy, that is to say much of political philosophy"
    )
    assert has_loop(looped, "That is to say much of political philosophy")
    assert not has_loop("That is to say much of political philosophy.", "That is to say")
    assert not has_loop("I said no no", "I said no no")
    assert not has_loop("very very good", "very good")  # one word twice is not a loop


def test_phone_band_removes_what_a_phone_line_cannot_carry():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    low = 8000 * np.sin(2 * np.pi * 100 * t)  # below 300 Hz
    high = 8000 * np.sin(2 * np.pi * 6000 * t)  # above 3.4 kHz (and 4 kHz Nyquist at 8 kHz)
    mid = 8000 * np.sin(2 * np.pi * 1000 * t)
    for tone, kept in ((low, False), (high, False), (mid, True)):
        out = phone_band(tone.astype(np.int16)).astype(np.float64)
        assert len(out) == SAMPLE_RATE
        ratio = np.sqrt(np.mean(out[2000:-2000] ** 2) / np.mean(tone[2000:-2000] ** 2))
        assert (ratio > 0.8) if kept else (ratio < 0.2), ratio


def test_phone_band_quantizes_like_g711():
    quiet = (np.sin(np.arange(SAMPLE_RATE) * 0.3) * 50).astype(np.int16)
    out = phone_band(quiet)
    assert not np.array_equal(out, quiet)


def test_speech_onset_follows_the_endpointer_rule():
    probs = iter([0.1, 0.9, 0.2, 0.9, 0.9, 0.9, 0.9])
    pcm = np.zeros(7 * 320, dtype=np.int16)
    assert speech_onset(pcm, lambda _frame: next(probs)) == 3 * 320


@pytest.mark.parametrize(
    "args,message",
    [
        (["--stt-option", "whisperx"], "unknown STT option"),
        (["--variant", "radio"], "unknown variant"),
    ],
)
def test_the_stt_stage_refuses_bad_arguments_with_one_line(args, message):
    from pathlib import Path

    from typer.testing import CliRunner

    from voice.cli import app

    corpus = Path(__file__).resolve().parents[1] / "bench" / "corpus" / "synth"
    result = CliRunner().invoke(app, ["bench", str(corpus), "--stage", "stt", *args])
    assert result.exit_code == 2
    assert message in result.output
