"""Base URLs: one `base_url` option per provider gives both its HTTP and WebSocket roots."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from voice.errors import ConfigError

_WS = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
_HTTP = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def http_and_ws(base_url: str) -> tuple[str, str]:
    """`http://h:p/x` -> (`http://h:p/x`, `ws://h:p/x`); https pairs with wss."""
    parts = urlsplit(base_url.rstrip("/"))
    if parts.scheme not in _WS or not parts.netloc:
        raise ConfigError(f"base_url {base_url!r} must look like http(s)://host[:port]")
    http = urlunsplit((_HTTP[parts.scheme], *parts[1:]))
    ws = urlunsplit((_WS[parts.scheme], *parts[1:]))
    return http, ws
