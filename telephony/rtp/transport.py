"""One phone call's media as a session `Transport`: RTP/G.711 in and out over one UDP socket.

- In: each datagram is parsed (`packet`), put in order (`jitter`), decoded to 16 kHz
  (`telephony.g711`) and re-framed into 20 ms frames stamped on arrival, as the WebRTC transport
  does; each frame also carries its 20 ms of the caller's G.711 bytes (`AudioFrame.wire`).
  Telephone-events (RFC 4733) become digits on `dtmf()`. A phone may stop sending (silence
  suppression, hold), so when nothing arrives a silence frame is filled in once its time has
  passed by `FILL_GRACE_NS`: the session's VAD keeps seeing time go by and ends the turn.
  Lost packets and fills are silence in the G.711 bytes too.
  No RTP for `rtp_timeout_s` (and not on hold) means the caller vanished: the input ends.
- Out: `send_audio()` encodes each 20 ms frame at once and queues the packet; a sender task
  puts one packet on the wire per 20 ms of wall clock and `send_audio()` waits while more than
  `lookahead_ms` is queued (a playout buffer's pace). Idle, nothing is sent (silence suppression;
  the next talk spurt carries the marker bit and goes out at once). `clear_audio()` drops every
  queued packet and the encoder's filter tail: the caller hears at most the packet on the wire.
- RTCP: a receiver report (`rtcp`) to the caller's RTP port + 1 every `rtcp_interval_s`, from
  the odd port above the call's RTP port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from telephony.g711 import Law, PhoneDecoder, PhoneEncoder, wire_format
from telephony.rtp.dtmf import DtmfReceiver
from telephony.rtp.jitter import JitterBuffer
from telephony.rtp.packet import RtpError, RtpPacket, build_rtp, parse_rtp
from telephony.rtp.rtcp import ReceptionStats
from voice.audio import FRAME_NS, FRAME_SAMPLES
from voice.pipeline.frames import AudioFrame
from voice.transports.input_clock import InputClock

log = logging.getLogger(__name__)

PHONE_FRAME = 160  # 8 kHz samples in 20 ms
FILL_GRACE_NS = 40_000_000  # a frame's packet this late is taken as silence
MAX_FILL_FRAMES = 10  # a burst of loss filled with at most this much silence


@dataclass
class RtpStats:
    packets_in: int = 0
    packets_out: int = 0
    bad_packets: int = 0  # not RTP, or an unknown payload type
    first_in_ns: int | None = None
    first_out_ns: int | None = None


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, owner: RtpTransport) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._owner.receive(data, (str(addr[0]), int(str(addr[1]))))

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable: the caller's gone
        log.debug("RTP socket: %s", exc)


class RtpTransport:
    def __init__(
        self,
        *,
        law: Law,
        payload_type: int,
        remote: tuple[str, int],
        dtmf_payload_type: int | None = None,
        rtp_timeout_s: float = 10.0,
        lookahead_ms: int = 40,
        jitter_depth: int = 3,
        rtcp_interval_s: float = 5.0,
    ) -> None:
        self.law: Law = law
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self.remote = remote
        self.on_hold = False
        self.port = 0  # the local RTP port, once open
        self.rtp_timeout_ns = round(rtp_timeout_s * 1e9)
        self.stats = RtpStats()
        self.digits: list[str] = []
        self.timed_out = False
        self._decoder = PhoneDecoder(law)
        self._encoder = PhoneEncoder(law)
        self._wire = wire_format(law)
        self._jitter = JitterBuffer(jitter_depth)
        self._dtmf = DtmfReceiver()
        # decoded audio, the G.711 it came from and its arrival time; a deque and an event, not
        # an asyncio.Queue under wait_for, whose timeout can drop an item it has already taken
        # (Python 3.11)
        self._input: deque[tuple[np.ndarray, bytes, int]] = deque()
        self._arrived = asyncio.Event()
        self._digits: asyncio.Queue[str | None] = asyncio.Queue()
        self._out: deque[bytes] = deque()
        self._lookahead = max(1, lookahead_ms // 20)
        self._room = asyncio.Event()
        self._room.set()
        self._queued = asyncio.Event()
        self._ended = asyncio.Event()
        self._socket: asyncio.DatagramTransport | None = None
        self._source: tuple[str, int] | None = None  # where the caller's RTP comes from
        self._sender: asyncio.Task[None] | None = None
        self._rtcp: asyncio.DatagramTransport | None = None
        self._reporter: asyncio.Task[None] | None = None
        self.reception = ReceptionStats()
        self.rtcp_interval_s = rtcp_interval_s
        self.reports_sent = 0
        self._last_heard_ns = time.monotonic_ns()
        self._sequence = random.randrange(0x10000)
        self._timestamp = random.randrange(0x100000000)
        self._ssrc = random.randrange(1, 0x100000000)

    # -- life --------------------------------------------------------------------------------

    async def open(self, host: str) -> int:
        """Bind the call's RTP socket on `host` (an even port) and RTCP on the next one, and
        return the RTP port."""
        loop = asyncio.get_running_loop()
        for _ in range(100):  # RFC 3550: RTP on an even port, RTCP on the odd one above
            socket, _ = await loop.create_datagram_endpoint(
                lambda: _Socket(self), local_addr=(host, 0)
            )
            port = int(socket.get_extra_info("sockname")[1])
            if port % 2 == 0 and port < 65535:
                try:
                    self._rtcp, _ = await loop.create_datagram_endpoint(
                        asyncio.DatagramProtocol, local_addr=(host, port + 1)
                    )
                except OSError:
                    pass
                else:
                    break
            socket.close()
        else:
            raise OSError(f"no free RTP/RTCP port pair on {host}")
        self._socket = socket
        self.port = port
        self._last_heard_ns = time.monotonic_ns()
        self._sender = asyncio.create_task(self._send_paced(), name="rtp-sender")
        self._reporter = asyncio.create_task(self._report(), name="rtcp-reports")
        return self.port

    async def _report(self) -> None:
        """A receiver report to the caller's RTCP port (RTP port + 1) every interval."""
        while not self._ended.is_set():
            await asyncio.sleep(self.rtcp_interval_s)
            if self._rtcp is None or self._ended.is_set() or self.on_hold:
                continue
            with contextlib.suppress(OSError):
                report = self.reception.receiver_report(self._ssrc)
                self._rtcp.sendto(report, (self.remote[0], self.remote[1] + 1))
                self.reports_sent += 1

    def update(self, *, remote: tuple[str, int], on_hold: bool) -> None:
        """A re-INVITE moved the caller or put the call on (or off) hold."""
        if remote != self.remote:
            self._source = None  # the caller moved: latch again
        self.remote = remote
        self.on_hold = on_hold
        self._last_heard_ns = time.monotonic_ns()

    def end(self) -> None:
        """The call is over: the input ends, nothing more is sent, the socket closes."""
        if self._ended.is_set():
            return
        self._ended.set()
        self._room.set()
        self._queued.set()
        self._arrived.set()
        self._digits.put_nowait(None)
        for socket in (self._socket, self._rtcp):
            if socket is not None:
                socket.close()

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    # -- in ----------------------------------------------------------------------------------

    def receive(self, data: bytes, source: tuple[str, int] = ("", 0)) -> None:
        """One datagram from the socket (never raises: a bad packet is counted and dropped).

        The first source to send RTP is the caller's (latching, as SBCs do: a caller behind NAT
        sends from another port than its SDP says); datagrams from anywhere else are then
        dropped, so nobody else can talk into the call."""
        if self._source is not None and source != self._source:
            self.stats.bad_packets += 1
            return
        try:
            packet = parse_rtp(data)
        except RtpError:
            self.stats.bad_packets += 1
            return
        self._source = source
        now = time.monotonic_ns()
        if packet.payload_type == self.dtmf_payload_type:
            self._last_heard_ns = now
            digit = self._dtmf.push(packet.timestamp, packet.payload)
            if digit is not None:
                self.digits.append(digit)
                self._digits.put_nowait(digit)
            return
        if packet.payload_type != self.payload_type or len(packet.payload) > 2_000:
            self.stats.bad_packets += 1
            return
        self._last_heard_ns = now
        self.reception.on_packet(packet.ssrc, packet.sequence, packet.timestamp, now)
        self.stats.packets_in += 1
        if self.stats.first_in_ns is None:
            self.stats.first_in_ns = now
        released = self._jitter.push(packet)
        if released.lost:
            silence = np.zeros(min(released.lost, MAX_FILL_FRAMES) * FRAME_SAMPLES, np.int16)
            self._input.append((silence, self._wire.silent(len(silence)), now))
        for ready in released.payloads:
            self._input.append((self._decoder.push(ready.payload), ready.payload, now))
        self._arrived.set()

    async def audio_input(self) -> AsyncIterator[AudioFrame]:
        clock = InputClock(self._wire)
        while not self._ended.is_set():
            now = time.monotonic_ns()
            if not self.on_hold and now - self._last_heard_ns > self.rtp_timeout_ns:
                self.timed_out = True  # the caller vanished without a BYE
                return
            if not self._input:
                due = clock.next_due_ns
                wait_ns = FRAME_NS * 5 if due is None else max(0, due + FILL_GRACE_NS - now)
                self._arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), wait_ns / 1e9)
            if not self._input:
                silent = clock.silence()
                if silent is not None and not self._ended.is_set():
                    yield silent  # nothing came: the caller is silent
                continue
            pcm, payload, arrived = self._input.popleft()
            for frame in clock.push(pcm, arrived, payload):
                yield frame

    async def dtmf(self) -> AsyncIterator[str]:
        """The caller's DTMF digits as they are pressed; ends with the call."""
        while True:
            digit = await self._digits.get()
            if digit is None:
                return
            yield digit

    # -- out ---------------------------------------------------------------------------------

    async def send_audio(self, pcm: np.ndarray) -> int:
        handed = time.monotonic_ns()
        if self._ended.is_set():
            return handed
        if len(pcm) != FRAME_SAMPLES:
            pcm = np.pad(pcm[:FRAME_SAMPLES], (0, max(0, FRAME_SAMPLES - len(pcm))))
        while len(self._out) >= self._lookahead and not self._ended.is_set():
            self._room.clear()
            await self._room.wait()
        self._out.append(self._encoder.push(np.asarray(pcm, dtype=np.int16)))
        self._queued.set()
        return handed

    async def clear_audio(self) -> None:
        self._out.clear()
        self._encoder.reset()
        self._room.set()

    async def _send_paced(self) -> None:
        next_ns = time.monotonic_ns()
        talking = False
        while not self._ended.is_set():
            if not self._out:
                talking = False
                self._queued.clear()
                await self._queued.wait()
                continue
            now = time.monotonic_ns()
            if now - next_ns > 5 * FRAME_NS:  # idle, or the loop stalled: restart the clock
                self._timestamp += (now - next_ns) // FRAME_NS * PHONE_FRAME
                next_ns = now
            elif next_ns > now:
                await asyncio.sleep((next_ns - now) / 1e9)
                if not self._out:
                    continue  # cleared while waiting
            payload = self._out.popleft()
            self._room.set()
            next_ns += FRAME_NS
            self._timestamp += PHONE_FRAME
            if self.on_hold or self._socket is None or self._ended.is_set():
                continue
            packet = RtpPacket(
                self.payload_type, self._sequence, self._timestamp, self._ssrc, payload, not talking
            )
            self._sequence = (self._sequence + 1) & 0xFFFF
            talking = True
            with contextlib.suppress(OSError):
                self._socket.sendto(build_rtp(packet), self.remote)
            self.stats.packets_out += 1
            if self.stats.first_out_ns is None:
                self.stats.first_out_ns = time.monotonic_ns()

    async def close(self) -> None:
        """End the call and wait for the sender to stop."""
        self.end()
        for task in (self._sender, self._reporter):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
