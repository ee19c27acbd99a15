"""The [stt] config keys reach the decoder, and bad values fail with the key's name."""

from __future__ import annotations

import pytest

from voice.config import load_config
from voice.errors import ConfigError
from voice.providers.stt_options import DecodeOptions, decode_options


def test_defaults_are_the_measured_best_point():
    options = decode_options(load_config(environ={}).stt)
    assert options == DecodeOptions()
    assert (options.pad_s, options.beam_size, options.fallback) == (3.0, 2, ("w10",))


def test_toml_and_environment_set_the_decoder(tmp_path):
    path = tmp_path / "voice.toml"
    path.write_text('[stt]\nbeam_size = 5\nfallback = "full, 0.2"\nmin_window_s = 8\n')
    config = load_config(path, environ={"VOICE_STT__NO_SPEECH_THRESHOLD": "0.5"})
    options = decode_options(config.stt)
    assert options.beam_size == 5
    assert options.fallback == ("full", 0.2)
    assert options.min_window_s == 8.0
    assert options.no_speech_threshold == 0.5


@pytest.mark.parametrize(
    "env,message",
    [
        ({"VOICE_STT__FALLBACK": "faster"}, "stt.fallback"),
        ({"VOICE_STT__BEAM_SIZE": "0"}, "stt.beam_size"),
        ({"VOICE_STT__PAD_S": "-1"}, "pad_s"),
    ],
)
def test_bad_stt_values_are_refused(env, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ=env)


def test_the_length_penalty_reaches_the_decoder_and_is_bounded() -> None:
    config = load_config(environ={"VOICE_STT__LENGTH_PENALTY": "0.5"})
    assert decode_options(config.stt).length_penalty == 0.5
    with pytest.raises(ConfigError, match="length_penalty"):
        load_config(environ={"VOICE_STT__LENGTH_PENALTY": "-1"})
