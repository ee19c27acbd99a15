"""Digest authentication, without sockets: the right answer passes, anything else does not."""

from __future__ import annotations

from aiosipua import SipDigestAuth, build_credentials, parse_auth, stringify_auth

from telephony.sip.digest import DigestGuard

URI = "sip:agent@127.0.0.1:5060"


def answer(guard: DigestGuard, now: float, password: str = "secret", user: str = "trunk") -> str:
    challenge = parse_auth(guard.challenge(now))
    credentials = build_credentials(SipDigestAuth(user, password), challenge, "INVITE", URI)
    assert credentials is not None
    return stringify_auth(credentials)


def test_the_right_password_passes_within_the_nonce_lifetime() -> None:
    guard = DigestGuard("voice", "trunk", "secret", nonce_ttl_s=300)
    header = answer(guard, now=1_000)
    assert guard.allows("INVITE", header, now=1_010)
    assert not guard.allows("INVITE", header, now=1_400)  # stale nonce
    assert not guard.allows("BYE", header, now=1_010)  # signed for another method


def test_wrong_or_missing_credentials_and_forged_nonces_fail() -> None:
    guard = DigestGuard("voice", "trunk", "secret")
    assert not guard.allows("INVITE", None, now=1_000)
    assert not guard.allows("INVITE", answer(guard, 1_000, password="guess"), now=1_000)
    assert not guard.allows("INVITE", answer(guard, 1_000, user="other"), now=1_000)
    other = DigestGuard("voice", "trunk", "secret")  # another process: another nonce secret
    assert not guard.allows("INVITE", answer(other, 1_000), now=1_000)
    assert not guard.allows("INVITE", 'Digest username="trunk", nc=zz', now=1_000)
