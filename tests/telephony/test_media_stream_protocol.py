"""The media-stream message set without a socket: Twilio's documented messages parse, anything
else is a `BadMessage` that says why, and the transport paces, clears and hears as it should."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from xml.etree import ElementTree

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.g711 import encode
from telephony.media_streams import protocol
from telephony.media_streams.transport import MediaStreamTransport

# As Twilio documents them (values shortened).
START = {
    "event": "start",
    "sequenceNumber": "1",
    "start": {
        "accountSid": "AC1",
        "streamSid": "MZ1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"token": "secret"},
    },
    "streamSid": "MZ1",
}


def media_message(payload: bytes, timestamp: str = "5") -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": "3",
            "media": {
                "track": "inbound",
                "chunk": "1",
                "timestamp": timestamp,
                "payload": base64.b64encode(payload).decode(),
            },
            "streamSid": "MZ1",
        }
    )


def test_twilios_messages_parse_to_events() -> None:
    connected = protocol.parse('{"event": "connected", "protocol": "Call", "version": "1.0.0"}')
    assert connected == protocol.Connected("Call")
    start = protocol.parse(json.dumps(START))
    assert isinstance(start, protocol.Start)
    assert (start.stream_sid, start.call_sid, start.law) == ("MZ1", "CA1", "ulaw")
    assert start.parameters == {"token": "secret"}
    assert protocol.parse(media_message(b"\xff" * 160)) == protocol.Media(b"\xff" * 160, 5)
    dtmf = {"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "7"}}
    assert protocol.parse(json.dumps(dtmf)) == protocol.Dtmf("7")
    mark = {"event": "mark", "streamSid": "MZ1", "mark": {"name": "reply-1"}}
    assert protocol.parse(json.dumps(mark)) == protocol.Mark("reply-1")
    assert protocol.parse('{"event": "stop", "stop": {"callSid": "CA1"}}') == protocol.Stop()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"event": "hello"}', "unknown event"),
        ('{"event": "media"}', "'media' object"),
        ('{"event": "media", "media": {"payload": "@@@"}}', "not base64"),
        ('{"event": "media", "media": {"payload": "", "track": "outbound"}}', "caller's track"),
        ('{"event": "dtmf", "dtmf": {"digit": "x"}}', "0-9"),
        (json.dumps({**START, "start": {"mediaFormat": {"encoding": "audio/l16"}}}), "encoding"),
        (json.dumps({**START, "start": {"mediaFormat": {"sampleRate": 16000}}}), "sample rate"),
        ("x" * 70_000, "longer than"),
    ],
)
def test_malformed_messages_say_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(protocol.BadMessage, match=why):
        protocol.parse(text)


def test_the_answer_document_connects_the_stream_and_escapes_its_values() -> None:
    document = protocol.connect_document("wss://agent.example/phone/stream", {"token": 'a"<b'})
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Connect>')
    stream = ElementTree.fromstring(document).find("./Connect/Stream")
    assert stream is not None and stream.get("url") == "wss://agent.example/phone/stream"
    parameter = stream.find("Parameter")
    assert parameter is not None and parameter.attrib == {"name": "token", "value": 'a"<b'}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
events = st.sampled_from(["media", "start", "dtmf", "mark", "stop", "connected", "clear", ""])


@settings(max_examples=2_000, deadline=None)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        st.builds(
            lambda event, body, key: json.dumps({"event": event, key: body}),
            events,
            json_values,
            st.sampled_from(["media", "start", "dtmf", "mark", "stop"]),
        ),
    )
)
def test_any_message_is_an_event_or_a_bad_message(text: str | bytes) -> None:
    try:
        protocol.parse(text)
    except protocol.BadMessage:
        pass


def tone_ulaw(ms: int) -> bytes:
    t = np.arange(8 * ms) / 8000
    return encode((6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))


def test_the_transport_hears_media_in_20_ms_frames_stamped_on_arrival() -> None:
    async def scenario() -> None:
        transport = MediaStreamTransport("MZ1", _collector([]))
        before = time.monotonic_ns()
        payloads = [tone_ulaw(20)[::-1] if i % 2 else tone_ulaw(20) for i in range(5)]
        for payload in payloads:
            transport.feed(protocol.Media(payload, None))
        transport.feed(protocol.Dtmf("5"))
        transport.feed(protocol.Stop())
        frames = [frame async for frame in transport.audio_input()]
        assert len(frames) == 5 and all(len(f.pcm) == 320 for f in frames)
        assert all(f.media_time_ns <= time.monotonic_ns() for f in frames)
        assert frames[0].media_time_ns >= before - 20_000_000
        assert [d.digit for d in transport.dtmf] == ["5"]
        assert np.abs(frames[-1].pcm).max() > 3000  # the tone, at 16 kHz
        # and each frame the carrier's bytes it came from, for an STT that takes them as is
        assert [(f.wire.encoding, f.wire.data) for f in frames if f.wire] == [
            ("mulaw", p) for p in payloads
        ]

    asyncio.run(scenario())


def test_the_transport_paces_the_bot_and_clear_drops_what_the_carrier_holds() -> None:
    async def scenario() -> None:
        sent: list[tuple[int, dict[str, object]]] = []
        transport = MediaStreamTransport("MZ1", _collector(sent), lookahead_ms=60)
        start = time.monotonic_ns()
        frame = np.full(320, 1000, dtype=np.int16)
        for _ in range(20):  # 400 ms of bot audio
            await transport.send_audio(frame)
        took_ms = (time.monotonic_ns() - start) / 1e6
        # paced at real time, less the 60 ms look-ahead (>= 300 ms); the upper bound only says
        # it did not wait twice per frame, since a loaded CI machine wakes late
        assert 300 <= took_ms < 800
        media = [m for _, m in sent if m["event"] == "media"]
        assert len(media) == 20
        payload = base64.b64decode(media[0]["media"]["payload"])  # type: ignore[index]
        assert len(payload) == 160  # 20 ms of µ-law at 8 kHz
        await transport.clear_audio()
        assert sent[-1][1] == {"event": "clear", "streamSid": "MZ1"}
        again = time.monotonic_ns()
        await transport.send_audio(frame)  # after a clear the carrier's buffer is empty
        assert (time.monotonic_ns() - again) / 1e6 < 15
        transport.end()
        await transport.send_audio(frame)  # a call that is over swallows the audio
        assert len([m for _, m in sent if m["event"] == "media"]) == 21

    asyncio.run(scenario())


def _collector(into: list[tuple[int, dict[str, object]]]):  # type: ignore[no-untyped-def]
    async def send_text(text: str) -> None:
        into.append((time.monotonic_ns(), json.loads(text)))

    return send_text
