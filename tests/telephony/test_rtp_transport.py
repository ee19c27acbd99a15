"""The call transport on real loopback sockets: paced output, barge-in, silence fill, latching."""

from __future__ import annotations

import asyncio
import struct
import time

import numpy as np

from bench.sipp import Ear
from telephony.g711 import encode
from telephony.rtp.packet import RtpPacket, build_rtp
from telephony.rtp.transport import RtpTransport
from voice.audio import FRAME_SAMPLES


async def transport_to(ear: Ear) -> RtpTransport:
    transport = RtpTransport(law="ulaw", payload_type=0, remote=("127.0.0.1", ear.port))
    await transport.open("127.0.0.1")
    return transport


def test_output_is_paced_at_20_ms_and_clear_audio_drops_the_queue() -> None:
    async def main() -> None:
        ear = await Ear().open()
        transport = await transport_to(ear)
        tone = (3000 * np.sin(np.arange(FRAME_SAMPLES) / 3)).astype(np.int16)
        start = time.monotonic_ns()
        for _ in range(10):
            await transport.send_audio(tone)
        await asyncio.sleep(0.1)
        sent_before_clear = transport.stats.packets_out
        for _ in range(2):  # fills the 40 ms lookahead, then barge-in
            await transport.send_audio(tone)
        await transport.clear_audio()
        await asyncio.sleep(0.2)
        await transport.close()
        ear.close()
        arrivals = [t for t, _ in ear.packets]
        assert len(arrivals) == transport.stats.packets_out  # every packet sent arrived
        assert transport.stats.packets_out <= sent_before_clear + 1  # at most the one on the wire
        assert (arrivals[9] - start) / 1e6 >= 9 * 20 - 5  # real-time pace, not a burst
        sequences = [p.sequence for _, p in ear.packets]
        assert sequences == [(sequences[0] + i) & 0xFFFF for i in range(len(sequences))]
        assert ear.packets[0][1].marker and not ear.packets[1][1].marker

    asyncio.run(main())


def test_input_is_decoded_then_silence_fills_in_and_strangers_are_dropped() -> None:
    async def main() -> None:
        ear = await Ear().open()
        transport = await transport_to(ear)
        caller = await Ear().open()  # stands for the phone's RTP socket
        stranger = await Ear().open()
        assert caller._socket is not None and stranger._socket is not None
        voice = encode((8000 * np.sin(np.arange(160) / 2)).astype(np.int16))
        for sequence in range(5):
            caller._socket.sendto(
                build_rtp(RtpPacket(0, sequence, sequence * 160, 1, voice)),
                ("127.0.0.1", transport.port),
            )
        await asyncio.sleep(0.05)
        stranger._socket.sendto(
            build_rtp(RtpPacket(0, 5, 800, 2, voice)), ("127.0.0.1", transport.port)
        )
        frames = []

        async def listen() -> None:
            async for frame in transport.audio_input():
                frames.append(frame)

        listening = asyncio.create_task(listen())
        await asyncio.sleep(0.3)
        transport.end()
        await listening
        for each in (ear, caller, stranger):
            each.close()
        await transport.close()
        loud = [f for f in frames if np.abs(f.pcm).max() > 1000]
        assert len(loud) == 5  # the caller's five packets, and not the stranger's
        assert len(frames) >= 5 + 5  # then silence, frame by frame, while nothing comes
        # Each frame carries the caller's G.711 it came from; the fills carry µ-law silence.
        assert [f.wire.data for f in loud if f.wire] == [voice] * 5
        fills = [f.wire.data for f in frames[5:] if f.wire]
        assert len(fills) == len(frames) - 5 and set(fills) == {encode(np.zeros(160))}
        assert transport.stats.bad_packets == 1
        stamps = [f.media_time_ns for f in frames]
        assert stamps == sorted(stamps)

    asyncio.run(main())


def test_receiver_reports_go_to_the_callers_rtcp_port() -> None:
    from bench.sipp import free_media_port
    from telephony.rtp.rtcp import RR

    async def main() -> None:
        base = free_media_port()  # the phone: RTP on an even port, RTCP on the next
        reports: asyncio.Queue[bytes] = asyncio.Queue()

        class Rtcp(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: object) -> None:
                reports.put_nowait(data)

        loop = asyncio.get_running_loop()
        phone_rtp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", base)
        )
        phone_rtcp, _ = await loop.create_datagram_endpoint(
            Rtcp, local_addr=("127.0.0.1", base + 1)
        )
        transport = RtpTransport(
            law="ulaw", payload_type=0, remote=("127.0.0.1", base), rtcp_interval_s=0.2
        )
        port = await transport.open("127.0.0.1")
        assert port % 2 == 0
        for sequence in (1, 2, 4):  # 3 is lost
            phone_rtp.sendto(
                build_rtp(RtpPacket(0, sequence, sequence * 160, 42, b"\xff" * 160)),
                ("127.0.0.1", port),
            )
        report = await asyncio.wait_for(reports.get(), 2)
        await transport.close()
        phone_rtp.close()
        phone_rtcp.close()
        assert report[1] == RR and len(report) == 32
        source, loss, highest = struct.unpack_from("!III", report, 8)
        assert source == 42 and loss & 0xFFFFFF == 1 and highest == 4

    asyncio.run(main())
