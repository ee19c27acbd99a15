"""Bad input to `voice talk` gives one line on stderr and a non-zero exit, never a traceback.

These cases are refused before any model loads, so they run fast.
"""

from __future__ import annotations

import subprocess
import sys
import wave

import numpy as np
import pytest


def run_voice(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def write(path, samples, rate=16000, channels=1):
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(samples, dtype=np.int16).tobytes())


def make_bad_inputs(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("hello, I am text")
    write(tmp_path / "silence.wav", np.zeros(48000), rate=48000)
    write(tmp_path / "full.wav", np.arange(32000) % 1000)
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "truncated.wav").write_bytes(data[: len(data) // 3])
    write(tmp_path / "tiny.wav", np.ones(100))


@pytest.mark.parametrize(
    "name,message",
    [
        ("missing.wav", "no such file"),
        ("empty.wav", "empty"),
        ("notes.wav", "not a PCM WAV"),
        ("truncated.wav", "truncated"),
        ("silence.wav", "pure silence"),
        ("tiny.wav", "too short"),
    ],
)
def test_bad_audio_gets_one_line_and_non_zero_exit(tmp_path, name, message):
    make_bad_inputs(tmp_path)
    result = run_voice("talk", str(tmp_path / name), "--out", str(tmp_path / "out.wav"))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out.wav").exists()


def test_bad_config_is_reported_before_anything_runs(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[turn]\nsilence_ms = -5\n")
    result = run_voice("talk", "--demo", "--config", str(bad))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "turn.silence_ms" in result.stderr


def test_talk_needs_a_file_or_demo():
    result = run_voice("talk")
    assert result.returncode == 2 and "--demo" in result.stderr
