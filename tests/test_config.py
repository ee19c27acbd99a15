import pytest

from voice.config import load_config
from voice.errors import ConfigError


def test_defaults_without_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config.turn.silence_ms == 300
    assert config.budget.total_ms == 500
    assert config.llm.threads == 2 and config.stt.threads == 1


def test_toml_then_environment_overrides(tmp_path):
    path = tmp_path / "voice.toml"
    path.write_text(
        "[turn]\nsilence_ms = 450\nspeculate = false\n"
        "[llm]\nthreads = 1\n[budget.stages]\nstt = 120\n"
    )
    config = load_config(
        path,
        environ={
            "VOICE_TURN__SILENCE_MS": "350",
            "VOICE_BUDGET__STAGES__LLM_TTFT": "90",
            "UNRELATED": "x",
        },
    )
    assert config.turn.silence_ms == 350  # environment beats the file
    assert config.turn.speculate is False
    assert config.llm.threads == 1
    assert config.budget.stages["stt"] == 120
    assert config.budget.stages["llm.ttft"] == 90


@pytest.mark.parametrize(
    "text,message",
    [
        ("[turn]\nsilence_ms = 'slow'\n", "expected int"),
        ("[turn]\nsilense_ms = 3\n", "unknown key 'silense_ms'"),
        ("[nope]\nx = 1\n", "unknown section"),
        ("[turn\n", "not valid TOML"),
        ("[llm]\nthreads = 0\n", "at least 1"),
    ],
)
def test_bad_config_gets_a_one_line_error(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path, environ={})
    assert "\n" not in str(caught.value)


def test_bad_environment_value_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"turn\.speculate"):
        load_config(environ={"VOICE_TURN__SPECULATE": "maybe"})


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", environ={})
