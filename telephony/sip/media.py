"""SDP offer/answer for a phone call: which law, which DTMF payload type, where to send RTP.

Sans-IO over aiosipua's SDP model (`parse_sdp`, `negotiate_sdp`): an offer's text in, a
`MediaPlan` (the answer's text and what the RTP side needs) out. Only G.711 is spoken, so an
offer without PCMU or PCMA is refused with `NotAcceptable` (answered 488).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiosipua import SdpNegotiationError, negotiate_sdp, parse_sdp, serialize_sdp

from telephony.g711 import Law

PCMU, PCMA = 0, 8
LAWS: dict[int, Law] = {PCMU: "ulaw", PCMA: "alaw"}
HOLD_DIRECTIONS = ("sendonly", "inactive")  # the caller holds: no audio from them


class NotAcceptable(ValueError):
    """An offer the agent cannot answer (no G.711 audio, or not SDP at all)."""


@dataclass(frozen=True)
class MediaPlan:
    answer_sdp: str
    law: Law
    payload_type: int
    dtmf_payload_type: int | None  # the caller's number for telephone-event, if offered
    remote: tuple[str, int]  # where the caller wants RTP
    on_hold: bool  # the caller offered sendonly/inactive: send nothing, expect nothing


def answer_offer(offer_text: str, local_ip: str, rtp_port: int) -> MediaPlan:
    """The answer to an SDP offer (RFC 3264), or `NotAcceptable` saying why not."""
    try:
        offer = parse_sdp(offer_text)
    except Exception as exc:  # aiosipua raises several kinds on malformed SDP
        raise NotAcceptable(f"the offer is not SDP: {exc}") from None
    audio = offer.audio
    remote = offer.rtp_address
    if audio is None or remote is None:
        raise NotAcceptable("the offer has no audio stream with an address")
    dtmf = next(
        (c.payload_type for c in audio.codecs if c.encoding_name.lower() == "telephone-event"),
        None,
    )
    try:  # the answer reuses the caller's number for telephone-event (RFC 3264 section 6.1)
        answer, payload_type = negotiate_sdp(
            offer, local_ip, rtp_port, supported_codecs=[PCMU, PCMA], dtmf_payload_type=dtmf or 0
        )
    except SdpNegotiationError as exc:
        raise NotAcceptable(str(exc)) from None
    if payload_type not in LAWS:
        raise NotAcceptable(f"payload type {payload_type} is not G.711")
    if not 0 < remote[1] < 65536:
        raise NotAcceptable(f"RTP port {remote[1]} is not usable")
    return MediaPlan(
        answer_sdp=serialize_sdp(answer),
        law=LAWS[payload_type],
        payload_type=payload_type,
        dtmf_payload_type=dtmf,
        remote=(remote[0], remote[1]),
        on_hold=audio.direction in HOLD_DIRECTIONS or remote[0] == "0.0.0.0",
    )
