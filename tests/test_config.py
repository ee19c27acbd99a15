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
        ("[turn]\nspeculate_after_ms = 500\n", r"speculate_after_ms \(500\) must be at least 20"),
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


def test_cloud_sections_from_toml_and_environment(tmp_path):
    path = tmp_path / "cloud.toml"
    path.write_text(
        '[providers]\nstt = "deepgram"\nllm = "anthropic"\ntts = "cartesia"\n'
        'secrets_file = "keys.toml"\n'
        '[deepgram]\nbase_url = "http://127.0.0.1:9001"\nfirst_byte_timeout_ms = 400\n'
        '[cartesia]\nvoice = "abc"\n[failover]\ncooldown_s = 5\n'
    )
    config = load_config(path, environ={"VOICE_ANTHROPIC__MODEL": "claude-x"})
    assert (config.providers.stt, config.providers.llm, config.providers.tts) == (
        "deepgram",
        "anthropic",
        "cartesia",
    )
    assert config.providers.secrets_file == "keys.toml"
    assert config.deepgram.base_url == "http://127.0.0.1:9001"
    assert config.deepgram.first_byte_timeout_ms == 400
    assert config.deepgram.connect_timeout_ms == 1000  # the shared default
    assert config.anthropic.model == "claude-x" and config.cartesia.voice == "abc"
    assert config.failover.cooldown_s == 5.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[deepgram]\nstall_timeout_ms = 0\n", "deepgram: every \\*_timeout_ms must be positive"),
        ("[failover]\nfailures_to_open = 0\n", "failover.failures_to_open"),
        ('[anthropic]\napi_key = "x"\n', "unknown key 'api_key'"),  # keys never in the config
    ],
)
def test_bad_cloud_config_gets_a_one_line_error(tmp_path, text, message):
    path = tmp_path / "voice.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_tts_spin_is_read_from_the_environment() -> None:
    from voice.config import load_config

    assert load_config(environ={}).tts.spin is True
    assert load_config(environ={"VOICE_TTS__SPIN": "false"}).tts.spin is False
