"""`voice harness` options and the `[harness]` config section: bad values are one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness.processes import ROOT
from voice.config import load_config
from voice.errors import ConfigError


def test_harness_settings_come_from_the_environment() -> None:
    config = load_config(
        None, {"VOICE_HARNESS__STEP_S": "0.5", "VOICE_HARNESS__FAIL_STEP": "confirm"}
    )
    assert config.harness.step_s == 0.5 and config.harness.fail_step == "confirm"
    assert config.harness.temporal == ""  # the embedded dev server by default


@pytest.mark.parametrize(
    "environ", [{"VOICE_HARNESS__PORT": "70000"}, {"VOICE_HARNESS__POLL_MS": "1"}]
)
def test_bad_harness_settings_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="harness"):
        load_config(None, environ)


def test_a_bad_port_option_is_a_one_line_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voice", "harness", "--port", "70000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--port must be 0-65535" in result.stderr and "Traceback" not in result.stderr
