"""`voice serve` with `serve.sip` set: phone calls beside the page, in the same call slots."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from bench.sipp import Scenario, free_udp_port
from bench.webrtc_caller import poll
from tests.server.serving import TOKEN, running_server, serve_config
from tests.telephony.test_sipp_calls import call, question

pytestmark = pytest.mark.slow


def invite(call_id: str, reply_port: int) -> bytes:
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n"
    )
    return (
        "INVITE sip:agent@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{reply_port};branch=z9hG4bK-{call_id}\r\n"
        "From: <sip:second@127.0.0.1>;tag=2\r\nTo: <sip:agent@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:second@127.0.0.1:{reply_port}>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


def test_a_phone_call_takes_a_slot_the_browser_and_other_callers_then_lack(
    tmp_path: Path,
) -> None:
    config = serve_config(max_sessions=1)
    config.serve.sip = f"127.0.0.1:{free_udp_port()}"

    async def main() -> None:
        async with running_server(config) as (base_url, server):
            sip = server.sip
            assert sip is not None
            caller = asyncio.create_task(
                call(sip, Scenario(audio=question(tmp_path), talk_ms=6_000), tmp_path)
            )
            assert await poll(lambda: bool(sip.active), 10)
            async with httpx.AsyncClient() as client:
                health = (await client.get(f"{base_url}/healthz")).json()
                assert health["sessions"] == 1
                offer = await client.post(
                    f"{base_url}/offer",
                    json={"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                assert offer.status_code == 503  # the phone call holds the only slot
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                second.bind(("127.0.0.1", 0))
                second.settimeout(5)
                second.sendto(invite("busy-1", second.getsockname()[1]), (sip.host, sip.port))
                answers = [
                    (await asyncio.to_thread(second.recv, 4096)).split(b"\r\n", 1)[0]
                    for _ in range(2)
                ]
            assert answers == [b"SIP/2.0 100 Trying", b"SIP/2.0 486 Busy Here"]
            code, log, ear = await caller
            assert code == 0, log
            assert ear.packets, "the phone call got no answer"
            assert await poll(lambda: not sip.active, 10)

    asyncio.run(main())
