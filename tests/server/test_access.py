"""The server's access rules, without a network: tokens and the offer rate limit."""

from __future__ import annotations

import pytest

from voice.server.access import OfferLimiter, bearer, new_token, token_ok
from voice.server.calls import BadOffer, check_offer


def test_tokens_are_random_and_compared_exactly() -> None:
    token = new_token()
    assert len(token) >= 20 and token != new_token()
    assert token_ok(token, token)
    assert not token_ok(token, None)
    assert not token_ok(token, token[:-1])
    assert not token_ok(token, token + "x")


def test_bearer_header() -> None:
    assert bearer("Bearer abc") == "abc"
    assert bearer("bearer  abc ") == "abc"
    assert bearer("Basic abc") is None
    assert bearer("Bearer") is None
    assert bearer(None) is None


def test_offer_limit_is_per_address_and_slides() -> None:
    limiter = OfferLimiter(per_minute=2)
    assert limiter.allow("a", now=0.0) and limiter.allow("a", now=1.0)
    assert not limiter.allow("a", now=2.0)
    assert limiter.allow("b", now=2.0)  # another caller is not held back
    assert limiter.allow("a", now=60.5)  # the first offer left the window


@pytest.mark.parametrize(
    ("sdp", "kind", "why"),
    [
        ("garbage", "offer", "not SDP"),
        ("v=0\r\ns=-\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "offer", "no audio"),
        ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "answer", "expected an SDP offer"),
    ],
)
def test_offers_that_cannot_start_a_call_say_why(sdp: str, kind: str, why: str) -> None:
    with pytest.raises(BadOffer, match=why):
        check_offer(sdp, kind)
