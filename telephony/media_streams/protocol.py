"""The media-stream message set, sans-IO: JSON text in, typed events out; events in, JSON out.

The carrier opens a WebSocket to the agent and sends `connected`, then `start` (the stream's
id, the call's id, the audio format and the `<Parameter>`s of the answer document), then
`media` messages (base64 µ-law 8 kHz, 20 ms each), `dtmf` digits, `mark` echoes (a mark comes
back once the audio sent before it has played) and finally `stop`. The agent sends `media`
(its voice), `mark` and `clear` (drop everything not yet played: barge-in). No I/O here: the
WebSocket endpoint feeds text in and sends what the builders return, so every rule is tested
without a socket.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from telephony.g711 import Law
from voice.errors import VoiceError

MAX_MESSAGE_CHARS = 64_000  # a 20 ms media message is ~300 characters; `start` is a few hundred


class BadMessage(VoiceError):
    """A message that is not part of the media-stream protocol; the stream goes on without it."""


@dataclass(frozen=True)
class Connected:
    protocol: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    encoding: str  # "audio/x-mulaw" (or "audio/x-alaw" from some look-alikes)
    sample_rate: int
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def law(self) -> Law:
        return "alaw" if self.encoding == "audio/x-alaw" else "ulaw"


@dataclass(frozen=True)
class Media:
    payload: bytes
    timestamp_ms: int | None  # the carrier's media time since the stream started


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Stop:
    pass


Event = Connected | Start | Media | Dtmf | Mark | Stop
ENCODINGS = {"audio/x-mulaw": "ulaw", "audio/x-alaw": "alaw"}
DTMF_DIGITS = set("0123456789*#ABCD")


def parse(text: str | bytes) -> Event:
    """One WebSocket message -> its event; `BadMessage` says what is wrong with it."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadMessage(f"message longer than {MAX_MESSAGE_CHARS} characters")
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadMessage(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise BadMessage("a message must be a JSON object")
    kind = message.get("event")
    if kind == "media":
        media = _section(message, "media")
        try:
            payload = base64.b64decode(_text(media, "payload"), validate=True)
        except (binascii.Error, ValueError):
            raise BadMessage("media.payload is not base64") from None
        track = media.get("track", "inbound")
        if track not in ("inbound", "inbound_track"):
            raise BadMessage(f"media from track {track!r}: only the caller's track is heard")
        stamp = media.get("timestamp")
        try:
            timestamp_ms = None if stamp is None else int(stamp)
        except (TypeError, ValueError):
            raise BadMessage("media.timestamp is not a number") from None
        return Media(payload, timestamp_ms)
    if kind == "start":
        start = _section(message, "start")
        media_format = start.get("mediaFormat") or {}
        if not isinstance(media_format, dict):
            raise BadMessage("start.mediaFormat must be an object")
        encoding = str(media_format.get("encoding", "audio/x-mulaw"))
        if encoding not in ENCODINGS:
            raise BadMessage(f"unsupported encoding {encoding!r} (µ-law or A-law 8 kHz)")
        rate = media_format.get("sampleRate", 8000)
        if rate != 8000:
            raise BadMessage(f"unsupported sample rate {rate!r} (8000)")
        parameters = start.get("customParameters") or {}
        if not isinstance(parameters, dict):
            raise BadMessage("start.customParameters must be an object")
        return Start(
            stream_sid=str(message.get("streamSid") or start.get("streamSid") or ""),
            call_sid=str(start.get("callSid", "")),
            encoding=encoding,
            sample_rate=8000,
            parameters={str(k): str(v) for k, v in parameters.items()},
        )
    if kind == "dtmf":
        digit = _text(_section(message, "dtmf"), "digit")
        if digit not in DTMF_DIGITS:
            raise BadMessage(f"dtmf digit {digit!r} is not one of 0-9 * # A-D")
        return Dtmf(digit)
    if kind == "mark":
        return Mark(_text(_section(message, "mark"), "name"))
    if kind == "connected":
        return Connected(str(message.get("protocol", "")))
    if kind == "stop":
        return Stop()
    raise BadMessage(f"unknown event {kind!r}")


def _section(message: dict[str, Any], name: str) -> dict[str, Any]:
    section = message.get(name)
    if not isinstance(section, dict):
        raise BadMessage(f"a {name} message needs a {name!r} object")
    return section


def _text(section: dict[str, Any], name: str) -> str:
    value = section.get(name)
    if not isinstance(value, str):
        raise BadMessage(f"{name!r} must be a string")
    return value


def media(stream_sid: str, payload: bytes) -> str:
    return json.dumps(
        {
            "event": "media",
            "streamSid": stream_sid,
            "media": {"payload": base64.b64encode(payload).decode()},
        }
    )


def mark(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})


def connect_document(stream_url: str, parameters: dict[str, str]) -> str:
    """The answer webhook's reply: connect the call's audio to the stream (TwiML `<Connect>`)."""
    params = "".join(
        f"<Parameter name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in parameters.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Connect><Stream url={quoteattr(stream_url)}>{params}</Stream>"
        "</Connect></Response>"
    )
