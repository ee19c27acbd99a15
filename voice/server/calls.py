"""The server's calls: an SDP offer in, an answer out, and one `VoiceSession` per connection.

Each call owns its peer connection, its transport, its session and one LLM slot
(`llm_slots`). A call ends when the browser hangs up or vanishes (the connection closes or
fails, or its audio track ends), or when the server shuts down; whatever happens in one call,
the others go on. Signalling is one round trip (no trickle ICE): aiortc gathers every candidate
before it answers, and the page waits for its own gathering before it offers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from voice.agent.session import VoiceSession
from voice.config import Config
from voice.delegate.delegator import make_delegator
from voice.errors import VoiceError
from voice.providers.registry import Models
from voice.server import events
from voice.server.call_task import let_finish
from voice.server.llm_slots import LLMSlots, NoFreeSlot
from voice.server.metrics import ServerMetrics
from voice.trace.turn_trace import TurnTrace
from voice.transports.webrtc import BotAudioTrack, WebRTCTransport, set_audio_jitter_buffer

log = logging.getLogger(__name__)


class BadOffer(VoiceError):
    """The offer cannot start a call (not SDP, no audio, or rejected by the WebRTC stack)."""


class Busy(VoiceError):
    """The server already serves its maximum number of calls."""


def restrict_ice_hosts(hosts: list[str]) -> None:
    """Offer only these addresses as ICE host candidates (empty: aioice's default, every
    interface but loopback). aioice has no option for this, so its address lookup is
    replaced for the whole process; the server is the only ICE user in its process."""
    if not hosts:
        return
    import aioice.ice

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [h for h in hosts if (use_ipv6 if ":" in h else use_ipv4)]

    aioice.ice.get_host_addresses = configured


def check_offer(sdp: str, kind: str) -> None:
    """Refuse what is plainly not a browser's audio offer, with a message that says why."""
    if kind != "offer":
        raise BadOffer(f"expected an SDP offer, got type {kind!r}")
    if not sdp.lstrip().startswith("v=0"):
        raise BadOffer("the offer is not SDP (it must start with 'v=0')")
    if "\nm=audio " not in sdp.replace("\r\n", "\n"):
        raise BadOffer("the offer has no audio section (m=audio)")


@dataclass
class Call:
    id: str
    pc: RTCPeerConnection
    transport: WebRTCTransport
    models: Models
    session: VoiceSession | None = None
    channel: RTCDataChannel | None = None
    task: asyncio.Task[None] | None = None
    hanging_up: bool = False

    def send(self, message: str) -> None:
        """A message to the page, if its data channel is open (one lost is only a display)."""
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(message)


class Calls:
    def __init__(self, config: Config, slots: LLMSlots, metrics: ServerMetrics) -> None:
        self.config = config
        self.slots = slots
        self.metrics = metrics
        self.active: dict[str, Call] = {}

    async def answer(self, sdp: str, kind: str, caller: str = "") -> tuple[str, str]:
        """Start a call from a browser's offer; return the SDP answer and the call's id.
        `caller` is the page's own id for its user (kept in the browser), so that a task
        delegated in one call is reported in their next one, and only to them."""
        check_offer(sdp, kind)
        try:
            models = self.slots.acquire()
        except NoFreeSlot:
            raise Busy(
                f"the server is serving its maximum of {self.slots.size} calls; try again later"
            ) from None
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        call = Call(uuid.uuid4().hex[:12], pc, WebRTCTransport(BotAudioTrack()), models)
        self.active[call.id] = call
        self.metrics.call_started("webrtc")
        self._wire(call)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "audio":
                    set_audio_jitter_buffer(transceiver.receiver, self.config.serve.jitter_frames)
            pc.addTrack(call.transport.bot_track)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # aiortc raises many kinds on a bad offer
            await self.hang_up(call.id)
            raise BadOffer(f"cannot use this offer: {exc}") from None
        call.session = VoiceSession(
            call.transport,
            models,
            self.config,
            delegate=make_delegator(
                self.config.delegate, f"browser:{caller}" if caller else f"call:{call.id}"
            ),
            on_turn=lambda trace: self._on_turn(call, trace),
            on_speaking=lambda trace: call.send(events.speaking(trace)),
        )
        call.task = asyncio.create_task(self._run(call), name=f"call-{call.id}")
        return pc.localDescription.sdp, call.id

    def _wire(self, call: Call) -> None:
        pc = call.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                call.transport.attach_caller(track)

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            call.channel = channel
            if channel.readyState == "open":
                call.send(events.hello(call.id))
            else:
                channel.on("open", lambda: call.send(events.hello(call.id)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.hang_up(call.id)

    def _on_turn(self, call: Call, trace: TurnTrace) -> None:
        self.metrics.observe_turn(trace)
        call.send(events.turn(trace, self.config.budget))

    async def _run(self, call: Call) -> None:
        assert call.session is not None
        try:
            await call.session.run()
        except Exception:  # one call's failure never harms another
            log.exception("call %s failed", call.id)
            self.metrics.errors.labels("call").inc()
        finally:
            await self.hang_up(call.id)

    async def hang_up(self, call_id: str) -> None:
        """End a call (idempotent): its input stops, its turns finish, its slot is freed. The
        call stays in `active` until all of that is done."""
        call = self.active.get(call_id)
        if call is None or call.hanging_up:
            return
        call.hanging_up = True
        call.transport.end()
        call.transport.bot_track.stop()
        with contextlib.suppress(Exception):
            await call.pc.close()
        task = call.task
        await let_finish(task)
        self.slots.release(call.models)
        del self.active[call_id]
        self.metrics.call_ended()

    async def close_all(self) -> None:
        """Graceful shutdown: end every call and let its session finish."""
        await asyncio.gather(*(self.hang_up(call_id) for call_id in list(self.active)))
