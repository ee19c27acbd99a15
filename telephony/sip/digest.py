"""Digest authentication of INVITEs (RFC 3261 section 22, RFC 7616): challenge, then check.

Sans-IO: time is an argument. The nonce carries its own issue time and an HMAC of it, so the
endpoint keeps no state per challenge and a forged or stale nonce (older than `nonce_ttl_s`)
is refused. The expected response is computed by aiosipua's `build_credentials`, the same
code its client side uses, from the caller's own nonce, cnonce and nonce count.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiosipua import SipDigestAuth, build_credentials, parse_auth
from aiosipua.headers import AuthChallenge


class DigestGuard:
    def __init__(
        self, realm: str, username: str, password: str, nonce_ttl_s: float = 300.0
    ) -> None:
        self.realm = realm
        self._credentials = SipDigestAuth(username, password)
        self._secret = secrets.token_bytes(32)
        self._nonce_ttl_s = nonce_ttl_s

    def _mac(self, issued: int) -> str:
        return hmac.new(self._secret, str(issued).encode(), hashlib.sha256).hexdigest()[:24]

    def challenge(self, now: float) -> str:
        """A `WWW-Authenticate` value for a 401."""
        issued = int(now)
        return (
            f'Digest realm="{self.realm}", nonce="{issued}.{self._mac(issued)}", '
            'algorithm=MD5, qop="auth"'
        )

    def _fresh(self, nonce: str, now: float) -> bool:
        issued_text, _, mac = nonce.partition(".")
        if not issued_text.isdigit() or not hmac.compare_digest(mac, self._mac(int(issued_text))):
            return False
        return 0 <= now - int(issued_text) <= self._nonce_ttl_s

    def allows(self, method: str, authorization: str | None, now: float) -> bool:
        """Whether the request's `Authorization` answers one of our challenges correctly."""
        if not authorization:
            return False
        given = parse_auth(authorization, credentials=True).params
        nonce = given.get("nonce", "")
        if given.get("username") != self._credentials.username or not self._fresh(nonce, now):
            return False
        if given.get("realm") != self.realm:
            return False
        qop = given.get("qop", "")
        try:
            count = int(given.get("nc", "1"), 16)
        except ValueError:
            return False
        challenge = AuthChallenge(
            "Digest", {"realm": self.realm, "nonce": nonce, **({"qop": qop} if qop else {})}
        )
        expected = build_credentials(
            self._credentials,
            challenge,
            method,
            given.get("uri", ""),
            nonce_count=count,
            cnonce=given.get("cnonce"),
        )
        if expected is None:
            return False
        return hmac.compare_digest(expected.params["response"], given.get("response", ""))
