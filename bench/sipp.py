"""Calling the agent with SIPp, a real SIP peer: scenarios, the caller's audio, the caller's ear.

SIPp (Debian `sip-tester`) sends the INVITE, streams the question as raw G.711 from its
`rtp_stream` action and hangs up; its SDP points the agent's RTP at an `Ear`, a UDP socket in
this process that records each reply packet with its arrival time on `time.monotonic_ns()`, so
a test or the benchmark can hear the answer and time it. Each call of a run gets its own ear
through SIPp's injection file (`-inf`, field 0 = the ear's port).
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from telephony.g711 import PhoneDecoder, encode
from telephony.rtp.packet import RtpError, RtpPacket, parse_rtp
from voice.audio import Clip, resample

SIPP = "sipp"
DTMF_PCAP_DIR = Path("/usr/share/sip-tester")  # RFC 4733 captures SIPp ships (pt 101)

_INVITE = """\
INVITE sip:agent@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:agent@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 53655765 2353687637 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [field0] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
{direction}
m=video [media_port] RTP/AVP 96
a=rtpmap:96 H264/90000
a=inactive
"""

_IN_DIALOG = """\
{method} [next_url] SIP/2.0
[routes]
Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:agent@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} {method}
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

"""


def _send(message: str, retrans: bool = True) -> str:
    attribute = ' retrans="500"' if retrans else ""
    return f"  <send{attribute}><![CDATA[\n{message}\n]]></send>\n"


def _ack(cseq: int = 1) -> str:
    return _send(_IN_DIALOG.format(method="ACK", cseq=cseq), retrans=False)


def _reinvite(cseq: int, direction: str) -> list[str]:
    body = _INVITE.replace("CSeq: 1 INVITE", f"CSeq: {cseq} INVITE").format(
        direction=f"a={direction}"
    )
    body = body.replace(
        "To: <sip:agent@[remote_ip]:[remote_port]>\n",
        "To: <sip:agent@[remote_ip]:[remote_port]>[peer_tag_param]\n",
    ).replace(
        "INVITE sip:agent@[remote_ip]:[remote_port] SIP/2.0\n",
        "INVITE [next_url] SIP/2.0\n[routes]\n",
    )
    return [
        _send(body),
        '  <recv response="100" optional="true"/>\n',
        '  <recv response="200"/>\n',
        _ack(cseq),
    ]


@dataclass(frozen=True)
class Scenario:
    """What one SIPp caller does after the agent answers."""

    audio: Path | None = None  # raw µ-law at 8 kHz, streamed once after the ACK
    talk_ms: int = 8_000  # time between the ACK and the BYE (or the end, see below)
    dtmf: str = ""  # digits played (RFC 4733) after the audio, from SIPp's captures
    hold_ms: int = 0  # put the call on hold (re-INVITE sendonly) this long, then resume
    hang_up: bool = True  # False: the caller vanishes (no BYE, no more RTP)
    expect_bye: bool = False  # the agent hangs up: wait for its BYE and answer 200
    cancel_after_ms: int = 0  # CANCEL the INVITE this long after sending it (no answer)
    auth: tuple[str, str] | None = None  # answer a 401 with digest credentials (user, password)
    tcp: bool = False  # SIP over one TCP connection (SIPp's -t t1) instead of UDP

    def xml(self) -> str:
        # one entry per scenario element: SIPp's [branch-N] counts elements back
        elements = [_send(_INVITE.format(direction="a=sendrecv"))]
        if self.cancel_after_ms:
            elements.append('  <recv response="100" optional="true"/>\n')
            elements.append('  <recv response="180"/>\n')
            elements.append(f'  <pause milliseconds="{self.cancel_after_ms}"/>\n')
            cancel = (
                _IN_DIALOG.format(method="CANCEL", cseq=1)
                .replace("[peer_tag_param]", "")
                .replace("[next_url]", "sip:agent@[remote_ip]:[remote_port]")
                .replace("[routes]\n", "")
            )
            elements.append(_send(cancel.replace("[branch]", f"[branch-{len(elements)}]")))
            elements.append('  <recv response="200"/>\n')
            elements.append('  <recv response="487"/>\n')
            ack = (
                _IN_DIALOG.format(method="ACK", cseq=1)
                .replace("[next_url]", "sip:agent@[remote_ip]:[remote_port]")
                .replace("[routes]\n", "")
            )
            elements.append(_send(ack.replace("[branch]", f"[branch-{len(elements)}]"), False))
            return _scenario(elements)
        invite_cseq = 1
        if self.auth is not None:
            elements.append('  <recv response="100" optional="true"/>\n')
            elements.append('  <recv response="401" auth="true"/>\n')
            ack = (
                _IN_DIALOG.format(method="ACK", cseq=1)
                .replace("[next_url]", "sip:agent@[remote_ip]:[remote_port]")
                .replace("[routes]\n", "")
            )
            elements.append(_send(ack.replace("[branch]", f"[branch-{len(elements)}]"), False))
            invite_cseq = 2
            authenticated = _INVITE.format(direction="a=sendrecv").replace(
                "CSeq: 1 INVITE\n", "CSeq: 2 INVITE\n[authentication]\n"
            )
            elements.append(_send(authenticated))
        elements += [
            '  <recv response="100" optional="true"/>\n',
            '  <recv response="180" optional="true"/>\n',
            '  <recv response="200" rtd="true" rrs="true"/>\n',  # keep the route set
            _ack(invite_cseq),
        ]
        if self.audio is not None:
            elements.append(
                f'  <nop><action><exec rtp_stream="{self.audio},1,0"/></action></nop>\n'
            )
        cseq = invite_cseq + 1
        if self.hold_ms:
            elements.append('  <pause milliseconds="1000"/>\n')
            elements += _reinvite(cseq, "sendonly")
            elements.append(f'  <pause milliseconds="{self.hold_ms}"/>\n')
            elements += _reinvite(cseq + 1, "sendrecv")
            cseq += 2
        for digit in self.dtmf:
            name = {"*": "star", "#": "pound"}.get(digit, digit)
            pcap = DTMF_PCAP_DIR / f"dtmf_2833_{name}.pcap"
            elements.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n')
            elements.append('  <pause milliseconds="400"/>\n')
        if self.expect_bye:
            elements.append('  <recv request="BYE" timeout="60000"/>\n')
            ok = (
                "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n"
                "[last_CSeq:]\nContent-Length: 0\n"
            )
            elements.append(_send(ok, retrans=False))
            return _scenario(elements)
        elements.append(f'  <pause milliseconds="{self.talk_ms}"/>\n')
        if self.hang_up:
            elements.append(_send(_IN_DIALOG.format(method="BYE", cseq=cseq)))
            elements.append('  <recv response="200" crlf="true"/>\n')
        return _scenario(elements)


def _scenario(elements: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="voice">\n'
        + "".join(elements)
        + "</scenario>\n"
    )


def write_ulaw(clip: Clip, path: Path) -> Path:
    """A recording as SIPp's `rtp_stream` plays it: raw G.711 µ-law at 8 kHz, no header."""
    path.write_bytes(encode(resample(clip.samples, clip.sample_rate, 8_000)))
    return path


@dataclass
class Ear:
    """A UDP socket that stands for the caller's phone: it records the agent's RTP packets."""

    packets: list[tuple[int, RtpPacket]] = field(default_factory=list)  # (arrival ns, packet)
    bad: int = 0
    port: int = 0
    _socket: asyncio.DatagramTransport | None = None

    async def open(self, host: str = "127.0.0.1") -> Ear:
        ear = self

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
                try:
                    ear.packets.append((time.monotonic_ns(), parse_rtp(data)))
                except RtpError:
                    ear.bad += 1

        loop = asyncio.get_running_loop()
        self._socket, _ = await loop.create_datagram_endpoint(Protocol, local_addr=(host, 0))
        self.port = int(self._socket.get_extra_info("sockname")[1])
        return self

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()

    @property
    def first_ns(self) -> int | None:
        return self.packets[0][0] if self.packets else None

    def audio(self) -> np.ndarray:
        """What the caller heard, decoded to 16 kHz (packets in arrival order)."""
        decoder = PhoneDecoder("ulaw")
        chunks = [decoder.push(p.payload) for _, p in self.packets if p.payload_type == 0]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def free_media_port() -> int:
    """An even UDP port with the next few free (SIPp's media ports for `rtp_stream`)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1]) & ~1
        if base + 4 < 65536 and all(_udp_free(base + offset) for offset in range(4)):
            return base
    raise RuntimeError("no free even UDP port for SIPp's media")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_sipp(
    scenario: Scenario,
    agent: tuple[str, int],
    ear_ports: list[int],
    workdir: Path,
    *,
    concurrent: int = 1,
    timeout_s: float = 60.0,
) -> tuple[int, str]:
    """Run SIPp for `len(ear_ports)` calls, `concurrent` at once; its exit code and log tail.

    SIPp exits 0 when every call went through the scenario, 1 when some failed."""
    scenario_file = workdir / "scenario.xml"
    scenario_file.write_text(scenario.xml())
    injection = workdir / "ears.csv"
    injection.write_text("SEQUENTIAL\n" + "".join(f"{port};\n" for port in ear_ports))
    command = [
        SIPP,
        f"{agent[0]}:{agent[1]}",
        "-sf", str(scenario_file),
        "-inf", str(injection),
        "-m", str(len(ear_ports)),
        "-l", str(concurrent),
        "-r", str(max(1, concurrent)),
        "-i", "127.0.0.1",
        "-mi", "127.0.0.1",
        "-p", str(free_udp_port()),
        "-mp", str(free_media_port()),
        "-nostdin",
        *(["-au", scenario.auth[0], "-ap", scenario.auth[1]] if scenario.auth else []),
        *(["-t", "t1"] if scenario.tcp else []),
        "-timeout", f"{int(timeout_s)}s",
        "-timeout_error",
        "-trace_err",
        "-trace_msg",
        "-error_file", str(workdir / "errors.log"),
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout_s + 10)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
    errors = workdir / "errors.log"
    tail = errors.read_text(errors="replace")[-3000:] if errors.is_file() else ""
    return process.returncode or 0, output.decode(errors="replace")[-2000:] + tail
