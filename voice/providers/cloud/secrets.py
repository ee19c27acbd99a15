"""API keys: from the environment or a secrets file, never from the config, never printed.

A key is looked up by its variable name (e.g. `DEEPGRAM_API_KEY`), first in the environment,
then in the TOML file named by `providers.secrets_file` (lines `NAME = "key"`). A missing key
is one `ConfigError` line that names the variable. Every key handed out is remembered, so
`redact()` can blank it out of any message (an SDK exception, a log line) before it is logged
or written into a trace; `RedactingFilter` does the same for third-party loggers that print
request headers at DEBUG level.
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path

from voice.errors import ConfigError

KEY_VARIABLES = {
    "deepgram": "DEEPGRAM_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "cartesia": "CARTESIA_API_KEY",
}
REDACTED = "[redacted]"
# Loggers of the SDKs and their transports that may print a request's headers at DEBUG.
_HEADER_LOGGERS = (
    "websockets.client",
    "websockets.server",
    "anthropic._base_client",
    "cartesia._base_client",
    "cartesia.lib._tts",
    "httpx",
    "httpx2",
    "httpcore.http11",
    "httpcore.connection",
)

_known: set[str] = set()
_lock = threading.Lock()


def api_key(provider: str, secrets_file: str = "", environ: Mapping[str, str] | None = None) -> str:
    """The key of `provider`, or a `ConfigError` naming the variable to set."""
    variable = KEY_VARIABLES[provider]
    environ = os.environ if environ is None else environ
    key = environ.get(variable, "").strip()
    if not key and secrets_file:
        key = _from_file(Path(secrets_file), variable)
    if not key:
        where = f" or add it to {secrets_file}" if secrets_file else ""
        raise ConfigError(
            f"{variable} is not set: export {variable}{where} to use providers = {provider!r}"
        )
    remember(key)
    return key


def _from_file(path: Path, variable: str) -> str:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"providers.secrets_file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        # The parser's message may quote a line of the file, that is a key: never show it.
        raise ConfigError(f"providers.secrets_file {path} is not valid TOML") from None
    value = data.get(variable, "")
    if not isinstance(value, str):
        raise ConfigError(f"providers.secrets_file {path}: {variable} must be a string")
    return value.strip()


def remember(key: str) -> None:
    """Add a key to those `redact` blanks out and keep it out of the SDKs' debug logs."""
    with _lock:
        if key in _known:
            return
        _known.add(key)
    for name in _HEADER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def redact(text: str) -> str:
    """`text` with every key handed out so far replaced by `[redacted]`."""
    with _lock:
        keys = sorted(_known, key=len, reverse=True)
    for key in keys:
        text = text.replace(key, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message so that no known key reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
