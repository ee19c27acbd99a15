"""`voice doctor`'s cloud rows: configured, reachable, authorized, and never the key."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from tests.cloud.conftest import KEY
from voice.config import Config
from voice.providers.cloud.doctor import check_cloud

pytestmark = pytest.mark.timeout(60)


def _config(deepgram_url: str, anthropic_url: str, cartesia_url: str) -> Config:
    config = Config()
    config.providers = dataclasses.replace(
        config.providers, stt="deepgram", llm="anthropic", tts="cartesia"
    )
    config.deepgram = dataclasses.replace(config.deepgram, base_url=deepgram_url)
    config.anthropic = dataclasses.replace(config.anthropic, base_url=anthropic_url)
    config.cartesia = dataclasses.replace(config.cartesia, base_url=cartesia_url)
    return config


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_doctor_tells_authorized_refused_unreachable_and_missing_apart(
    deepgram, anthropic, cartesia, monkeypatch
):
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.delenv("CARTESIA_API_KEY", raising=False)
    anthropic.emulator.key = "another-key"
    checks = check_cloud(_config(deepgram.base_url, anthropic.base_url, cartesia.base_url))
    by_stage = {c.stage: c for c in checks}
    assert by_stage["stt"].ok and by_stage["stt"].message == "authorized"
    assert not by_stage["llm"].ok and "ANTHROPIC_API_KEY was refused (HTTP 401)" in (
        by_stage["llm"].message
    )
    assert not by_stage["tts"].ok and "CARTESIA_API_KEY is not set" in by_stage["tts"].message
    assert "$DEEPGRAM_API_KEY" in by_stage["stt"].source
    assert KEY not in repr(checks)

    monkeypatch.setenv("CARTESIA_API_KEY", KEY)
    config = _config(deepgram.base_url, anthropic.base_url, _closed_port())
    config.cartesia.connect_timeout_ms = 500
    (tts,) = [c for c in check_cloud(config) if c.stage == "tts"]
    assert not tts.ok and tts.message.startswith("unreachable")


def test_doctor_has_no_cloud_rows_for_the_local_default():
    assert check_cloud(Config()) == []
