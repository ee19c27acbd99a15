"""Who may place a call: the URL's token, and a per-address limit on offers.

The limiter is a sliding one-minute window per client address, written by hand because it is a
dozen lines and the server needs nothing else from a rate-limiting library.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import defaultdict, deque


def new_token() -> str:
    return secrets.token_urlsafe(16)


def token_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so the token cannot be guessed a character at a time."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class OfferLimiter:
    """At most `per_minute` offers per client address in any 60 s window."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._seen: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[client]
        while seen and now - seen[0] >= self.window_s:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        return True
