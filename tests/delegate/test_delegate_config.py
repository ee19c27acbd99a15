"""The [delegate] section: its keys, the token's sources, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice.config import load_config
from voice.delegate.delegator import make_delegator
from voice.delegate.store import TaskStore
from voice.errors import ConfigError


def test_delegation_is_off_by_default_and_on_from_the_environment(tmp_path: Path) -> None:
    assert make_delegator(load_config(environ={}).delegate) is None
    config = load_config(
        environ={
            "VOICE_DELEGATE__ENABLED": "true",
            "VOICE_DELEGATE__URL": "http://127.0.0.1:9",
            "VOICE_DELEGATE__DB_PATH": str(tmp_path / "tasks.db"),
        }
    )
    assert config.delegate.enabled and config.delegate.url == "http://127.0.0.1:9"
    assert make_delegator(config.delegate) is not None
    assert (tmp_path / "tasks.db").is_file()


def test_the_token_comes_from_the_config_else_from_the_named_variable() -> None:
    config = load_config(environ={}).delegate
    assert config.bearer_token({"VOICE_DELEGATE_TOKEN": "from-env"}) == "from-env"
    config.token_env = "MY_HARNESS_TOKEN"
    assert config.bearer_token({"MY_HARNESS_TOKEN": "mine"}) == "mine"
    config.token = "inline"
    assert config.bearer_token({"MY_HARNESS_TOKEN": "mine"}) == "inline"


def test_bad_values_are_refused_with_the_key_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"delegate\.url"):
        load_config(environ={"VOICE_DELEGATE__ENABLED": "1", "VOICE_DELEGATE__URL": "harness"})
    with pytest.raises(ConfigError, match="gap_ms"):
        load_config(environ={"VOICE_DELEGATE__GAP_MS": "-1"})
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ConfigError, match=r"delegate\.db_path"):
        TaskStore(tmp_path / "dir.db")
