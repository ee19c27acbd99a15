"""SDP offer/answer and the trunk allow-list, without sockets."""

from __future__ import annotations

import pytest

from telephony.sip.access import AllowList
from telephony.sip.media import NotAcceptable, answer_offer


def offer(formats: str, extra: str = "", address: str = "10.0.0.5") -> str:
    lines = [
        "v=0",
        f"o=caller 1 1 IN IP4 {address}",
        "s=-",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio 4000 RTP/AVP {formats}",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:18 G729/8000",
        "a=rtpmap:96 telephone-event/8000",
        *([extra] if extra else []),
    ]
    return "\r\n".join(lines) + "\r\n"


def test_the_callers_first_g711_law_is_chosen_and_dtmf_keeps_its_number() -> None:
    plan = answer_offer(offer("18 8 0 96"), "127.0.0.1", 7000)
    assert (plan.law, plan.payload_type, plan.dtmf_payload_type) == ("alaw", 8, 96)
    assert plan.remote == ("10.0.0.5", 4000) and not plan.on_hold
    assert "m=audio 7000 RTP/AVP 8 96" in plan.answer_sdp
    assert "a=rtpmap:96 telephone-event/8000" in plan.answer_sdp


def test_pcmu_without_dtmf() -> None:
    plan = answer_offer(offer("0"), "127.0.0.1", 7000)
    assert (plan.law, plan.dtmf_payload_type) == ("ulaw", None)
    assert "telephone-event" not in plan.answer_sdp


@pytest.mark.parametrize("direction", ["sendonly", "inactive"])
def test_hold_is_seen(direction: str) -> None:
    plan = answer_offer(offer("0", f"a={direction}"), "127.0.0.1", 7000)
    assert plan.on_hold
    assert plan.answer_sdp.count("a=recvonly" if direction == "sendonly" else "a=inactive") == 1


NO_PORT = offer("0").replace("4000", "0")


@pytest.mark.parametrize("text", [offer("18"), "not sdp", "v=0\r\n", NO_PORT])
def test_what_cannot_be_answered_is_not_acceptable(text: str) -> None:
    with pytest.raises(NotAcceptable):
        answer_offer(text, "127.0.0.1", 7000)


def test_the_allow_list() -> None:
    assert AllowList([]).allows("203.0.113.9")
    trunk = AllowList(["192.0.2.0/24", "127.0.0.1"])
    assert trunk.allows("192.0.2.77") and trunk.allows("127.0.0.1")
    assert not trunk.allows("198.51.100.1") and not trunk.allows("not-an-ip")
