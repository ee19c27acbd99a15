"""Keys: one clear line when missing; never in logs, traces or results."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from tests.cloud.conftest import KEY
from voice.config import Config
from voice.errors import ConfigError
from voice.providers import registry
from voice.providers.cloud.secrets import api_key
from voice.talk import load_caller_audio, talk


def test_a_missing_key_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.delenv("DEEPGRAM_API_KEY", raising=False)
    config = Config()
    config.providers = dataclasses.replace(config.providers, stt="deepgram")
    with pytest.raises(ConfigError) as missing:
        registry.load_stt(config)
    message = str(missing.value)
    assert "DEEPGRAM_API_KEY is not set" in message and "\n" not in message


def test_keys_come_from_the_environment_first_then_the_secrets_file(tmp_path):
    secrets = tmp_path / "keys.toml"
    secrets.write_text('CARTESIA_API_KEY = "from-file"\n')
    assert api_key("cartesia", str(secrets), environ={}) == "from-file"
    assert api_key("cartesia", str(secrets), environ={"CARTESIA_API_KEY": "env"}) == "env"
    with pytest.raises(ConfigError, match=r"ANTHROPIC_API_KEY is not set.*keys.toml"):
        api_key("anthropic", str(secrets), environ={})


def test_a_broken_secrets_file_never_shows_its_lines(tmp_path):
    secrets = tmp_path / "keys.toml"
    secrets.write_text("DEEPGRAM_API_KEY = sk-unquoted-secret\n")
    with pytest.raises(ConfigError) as broken:
        api_key("deepgram", str(secrets), environ={})
    assert "sk-unquoted-secret" not in str(broken.value)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_turn_with_keys_set_leaves_them_in_no_log_trace_or_result(
    deepgram, anthropic, cartesia, monkeypatch, caplog, real_corpus
):
    # Deepgram refuses the key (its error carries the request headers), the others take it.
    deepgram.emulator.key = "another-key"
    for variable in ("DEEPGRAM_API_KEY", "ANTHROPIC_API_KEY", "CARTESIA_API_KEY"):
        monkeypatch.setenv(variable, KEY)
    config = Config()
    config.providers = dataclasses.replace(
        config.providers, stt="deepgram", llm="anthropic", tts="cartesia"
    )
    config.deepgram = dataclasses.replace(config.deepgram, base_url=deepgram.base_url)
    config.anthropic = dataclasses.replace(config.anthropic, base_url=anthropic.base_url)
    config.cartesia = dataclasses.replace(config.cartesia, base_url=cartesia.base_url)
    caplog.set_level(logging.DEBUG)
    result = talk(load_caller_audio(real_corpus / "hello-world.wav"), config)

    (turn,) = [t for t in result.turns if t["outcome"] == "answered"]
    assert turn["reply"] == anthropic.emulator.reply  # the cloud LLM answered
    assert cartesia.emulator.requests and anthropic.emulator.requests
    assert any(f["stage"] == "stt" for f in turn["failovers"])  # Deepgram refused: Whisper
    # The key did reach the emulators, and the headers were logged (redacted) at DEBUG.
    assert any(KEY in str(h) for h in cartesia.emulator.headers)
    assert "[redacted]" in caplog.text or "[REDACTED]" in caplog.text
    everything = caplog.text + json.dumps(result.turns, default=str)
    everything += json.dumps([t.to_dict() for t in result.traces], default=str)
    assert KEY not in everything
