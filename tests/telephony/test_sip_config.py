"""`serve.sip` and `voice serve --sip`: a bad address is one line, before any model loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from voice.config import sip_address
from voice.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_sip_addresses() -> None:
    assert sip_address("127.0.0.1:5070") == ("127.0.0.1", 5070)
    assert sip_address("203.0.113.10") == ("203.0.113.10", 5060)
    for bad in (":5060", "host:port", "host:70000"):
        with pytest.raises(ValueError):
            sip_address(bad)


def test_a_bad_sip_address_in_the_config_is_refused(tmp_path: Path) -> None:
    from voice.config import load_config

    bad = tmp_path / "bad.toml"
    bad.write_text('[serve]\nsip = "127.0.0.1:notaport"\n')
    with pytest.raises(ConfigError, match=r"serve\.sip"):
        load_config(bad, environ={})


def test_voice_serve_refuses_a_bad_sip_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voice", "serve", "--sip", "127.0.0.1:99999"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--sip" in result.stderr + result.stdout
