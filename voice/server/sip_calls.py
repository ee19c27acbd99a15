"""The server's phone calls: SIP INVITEs in, one `VoiceSession` per call over RTP.

aiosipua does SIP (parsing, the UAS's transactions and dialogs, 100 Trying, 2xx
retransmission until ACK, CANCEL -> 487, BYE, OPTIONS); `telephony.sip.media` answers the
SDP offer and `telephony.rtp.transport` carries the audio. This module only decides: who may
call (the allow-list: 403; digest authentication when configured: 401), whether there is
room (the browser calls' LLM slots: 486 when every slot is taken, 503 while shutting down),
and what the offer allows (488). Each call owns
its RTP socket, its session and one slot; whatever happens in one call, the others go on.
A call ends on the caller's BYE or CANCEL, when the caller's RTP stops (`sip_rtp_timeout_s`),
when the ACK never comes, or at shutdown, when the agent sends BYE to every call in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosipua import DialogState, IncomingCall, SipRequest, SipUAS, parse_sdp
from aiosipua.transport import SipTransport, TcpSipTransport, UdpSipTransport, _UdpProtocol

from telephony.rtp.transport import RtpTransport
from telephony.sip.access import AllowList
from telephony.sip.digest import DigestGuard
from telephony.sip.media import MediaPlan, NotAcceptable, answer_offer
from voice.agent.session import VoiceSession
from voice.config import Config, sip_address
from voice.delegate.delegator import make_delegator
from voice.providers.registry import Models
from voice.server.call_task import let_finish
from voice.server.llm_slots import LLMSlots, NoFreeSlot
from voice.server.metrics import ServerMetrics
from voice.trace.turn_trace import TurnTrace

log = logging.getLogger(__name__)

USER_AGENT = "voice"


class _Protocol(_UdpProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # aiosipua asserts an `asyncio.DatagramTransport`, which Python 3.11's selector
        # transport is not a subclass of; the endpoint's `start()` keeps it either way
        pass


class _UdpTransport(UdpSipTransport):
    """aiosipua's UDP transport without its failing assertion on Python 3.11 (above)."""

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=self.local_addr
        )
        self._udp_transport = transport


@dataclass
class SipCall:
    id: str
    invite: IncomingCall
    models: Models
    rtp: RtpTransport | None = None
    session: VoiceSession | None = None
    task: asyncio.Task[None] | None = None  # answering, then the session
    hanging_up: bool = False
    ended_by: str = ""  # "caller" (BYE), "cancel", "timeout" (RTP stopped), "agent", "no-ack"
    turns: list[TurnTrace] = field(default_factory=list)
    holds: list[bool] = field(default_factory=list)  # each accepted re-INVITE: on hold or not
    counted: bool = False  # answered: in the server's call metrics until it ends


class SipCalls:
    def __init__(
        self,
        config: Config,
        slots: LLMSlots,
        metrics: ServerMetrics,
        on_ended: Callable[[SipCall], None] | None = None,
    ) -> None:
        self.config = config
        self.slots = slots
        self.metrics = metrics
        self.host, self.port = sip_address(config.serve.sip)
        self.allow = AllowList(config.serve.sip_allow)
        serve = config.serve
        self.digest = (
            DigestGuard(serve.sip_auth_realm, serve.sip_auth_user, serve.sip_auth_password)
            if serve.sip_auth_user
            else None
        )
        self.active: dict[str, SipCall] = {}
        self.ended: list[SipCall] = []  # the last calls that ended (tests and the bench read)
        self.on_ended = on_ended
        self.accepting = True
        transports: list[SipTransport] = [_UdpTransport(local_addr=(self.host, self.port))]
        if serve.sip_tcp:
            transports.append(TcpSipTransport(local_addr=(self.host, self.port)))
        self.servers = [self._wire(SipUAS(t, user_agent=USER_AGENT)) for t in transports]
        self.uas = self.servers[0]  # UDP

    def _wire(self, uas: SipUAS) -> SipUAS:
        uas.on_invite = self._on_invite
        uas.on_reinvite = self._on_reinvite
        uas.on_bye = self._on_bye
        uas.on_cancel = self._on_cancel
        uas.on_ack_timeout = self._on_ack_timeout
        return uas

    def _uas_of(self, invite: IncomingCall) -> SipUAS:
        """The server (UDP or TCP) the call came in on."""
        return next((u for u in self.servers if u.transport is invite.transport), self.uas)

    async def start(self) -> None:
        for uas in self.servers:
            await uas.start()
        kinds = "udp and tcp" if len(self.servers) > 1 else "udp"
        log.info("SIP: listening on %s %s:%d", kinds, self.host, self.port)

    async def close(self) -> None:
        """Graceful shutdown: refuse new calls (503), BYE every call, then stop listening."""
        self.accepting = False
        await asyncio.gather(*(self.hang_up(cid, "agent") for cid in list(self.active)))
        for uas in self.servers:
            await uas.stop()

    # -- SIP events (aiosipua calls these synchronously) --------------------------------------

    def _on_invite(self, invite: IncomingCall) -> None:
        call_id = invite.call_id
        if call_id in self.active:
            # A retransmitted INVITE: the answer is on its way. aiosipua took it for a new call
            # and replaced the call it tracks (a new To tag the ACK would not match): put back
            # the one being answered.
            self._uas_of(invite)._calls[call_id] = self.active[call_id].invite
            return
        if not self.allow.allows(invite.source_addr[0]):
            self.metrics.errors.labels("sip_forbidden").inc()
            invite.reject(403, "Forbidden")
            return
        if self.digest is not None and not self.digest.allows(
            "INVITE", invite.invite.get_header("authorization"), time.time()
        ):
            self._respond(
                invite,
                401,
                "Unauthorized",
                extra={"WWW-Authenticate": self.digest.challenge(time.time())},
            )
            invite.dialog.terminate()  # the ACK to the 401 ends the transaction
            return
        if not self.accepting:
            invite.reject(503, "Service Unavailable")
            return
        try:
            answer_offer(invite.invite.text, self.host, 1)  # refuse a bad offer before a slot
        except NotAcceptable as exc:
            self.metrics.errors.labels("bad_offer").inc()
            log.info("SIP call %s: 488 (%s)", call_id, exc)
            invite.reject(488, "Not Acceptable Here")
            return
        try:
            models = self.slots.acquire()
        except NoFreeSlot:
            self.metrics.errors.labels("busy").inc()
            invite.reject(486, "Busy Here")
            return
        call = SipCall(call_id, invite, models)
        self.active[call_id] = call
        invite.ringing()
        call.task = asyncio.create_task(self._answer_and_run(call), name=f"call-sip-{call_id}")

    def _on_reinvite(self, invite: IncomingCall) -> None:
        call = self.active.get(invite.call_id)
        if call is None or call.rtp is None:
            self._respond(invite, 481, "Call/Transaction Does Not Exist")
            return
        rtp = call.rtp
        offer = invite.invite.text
        if not offer.strip():  # no offer (a refresh asking for ours): offer what we answered
            self._respond(invite, 200, "OK", invite.sdp_answer)
            return
        try:
            plan = answer_offer(offer, self.host, self._rtp_port(call))
        except NotAcceptable as exc:
            log.info("SIP call %s: re-INVITE refused (%s)", call.id, exc)
            self._respond(invite, 488, "Not Acceptable Here")  # the call goes on unchanged
            return
        if plan.law != rtp.law or plan.payload_type != rtp.payload_type:
            self._respond(invite, 488, "Not Acceptable Here")  # a codec change is not supported
            return
        rtp.update(remote=plan.remote, on_hold=plan.on_hold)
        call.holds.append(plan.on_hold)
        log.info("SIP call %s: re-INVITE (on hold: %s)", call.id, plan.on_hold)
        invite.accept(parse_sdp(plan.answer_sdp))

    def _on_bye(self, invite: IncomingCall, request: SipRequest) -> None:
        self._end_soon(invite.call_id, "caller")

    def _on_cancel(self, request: SipRequest, addr: tuple[str, int]) -> None:
        self._end_soon(request.call_id or "", "cancel")

    def _on_ack_timeout(self, invite: IncomingCall) -> None:
        self._end_soon(invite.call_id, "no-ack")

    def _end_soon(self, call_id: str, why: str) -> None:
        if call_id in self.active:
            asyncio.get_running_loop().create_task(self.hang_up(call_id, why))

    def _respond(
        self,
        invite: IncomingCall,
        code: int,
        reason: str,
        sdp: object | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        """A response to an INVITE that keeps the dialog (aiosipua's `reject()` would end it)
        and may carry extra headers (its `reject()` cannot)."""
        if code == 200:
            invite.accept(invite.sdp_answer)
            return
        response = invite.dialog.create_response(invite.invite, code, reason)
        response.headers.set_single("User-Agent", USER_AGENT)
        for name, value in (extra or {}).items():
            response.headers.set_single(name, value)
        self._uas_of(invite).transport.send_reply(response)

    def _rtp_port(self, call: SipCall) -> int:
        return call.rtp.port if call.rtp is not None else 0

    # -- a call's life -----------------------------------------------------------------------

    async def _answer_and_run(self, call: SipCall) -> None:
        serve = self.config.serve
        try:
            plan = answer_offer(call.invite.invite.text, self.host, 1)
            rtp = RtpTransport(
                law=plan.law,
                payload_type=plan.payload_type,
                remote=plan.remote,
                dtmf_payload_type=plan.dtmf_payload_type,
                rtp_timeout_s=serve.sip_rtp_timeout_s,
            )
            call.rtp = rtp
            port = await rtp.open(self.host)
            plan = answer_offer(call.invite.invite.text, self.host, port)
            rtp.update(remote=plan.remote, on_hold=plan.on_hold)
            if serve.sip_ring_ms > 0:
                await asyncio.sleep(serve.sip_ring_ms / 1000)
            if call.hanging_up or self._uas_of(call.invite).get_call(call.id) is None:
                return  # cancelled while ringing
            call.invite.accept(parse_sdp(plan.answer_sdp))
            self.metrics.call_started("sip")
            call.counted = True
            await self._run(call, rtp, plan)
        except Exception:  # one call's failure never harms another
            log.exception("SIP call %s failed", call.id)
            self.metrics.errors.labels("call").inc()
            if call.invite.dialog.state == DialogState.EARLY and not call.hanging_up:
                with contextlib.suppress(Exception):  # not answered yet: say so, do not ring on
                    call.invite.reject(500, "Server Internal Error")
        finally:
            if not call.hanging_up:
                asyncio.get_running_loop().create_task(
                    self.hang_up(call.id, "timeout" if call.rtp and call.rtp.timed_out else "agent")
                )

    async def _run(self, call: SipCall, rtp: RtpTransport, plan: MediaPlan) -> None:
        session = VoiceSession(
            rtp,
            call.models,
            self.config,
            on_turn=lambda t: self._turn(call, t),
            delegate=make_delegator(self.config.delegate, _caller(call)),
        )
        call.session = session
        log.info("SIP call %s answered (%s, DTMF pt %s)", call.id, plan.law, plan.dtmf_payload_type)

        async def digits() -> None:
            async for digit in rtp.dtmf():
                log.info("SIP call %s: DTMF %s", call.id, digit)
                session.result.dtmf.append(digit)

        dtmf_task = asyncio.create_task(digits())
        try:
            await session.run()
        finally:
            dtmf_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dtmf_task

    def _turn(self, call: SipCall, trace: TurnTrace) -> None:
        call.turns.append(trace)
        self.metrics.observe_turn(trace)

    async def hang_up(self, call_id: str, why: str) -> None:
        """End a call (idempotent): BYE if it is still up, its input stops, its turns finish,
        its slot is freed."""
        call = self.active.get(call_id)
        if call is None or call.hanging_up:
            return
        call.hanging_up = True
        call.ended_by = why
        with contextlib.suppress(Exception):
            call.invite.hangup()  # a BYE, only if the dialog is still confirmed
        if call.rtp is not None:
            call.rtp.end()
        task = call.task
        if task is not None and call.session is None:
            task.cancel()  # still ringing: nothing to finish
        await let_finish(task)
        if call.rtp is not None:
            await call.rtp.close()
        self.slots.release(call.models)
        del self.active[call_id]
        if call.counted:
            self.metrics.call_ended()
        self.ended = [*self.ended[-49:], call]
        log.info("SIP call %s ended (%s)", call_id, why)
        if self.on_ended is not None:
            self.on_ended(call)


def _caller(call: SipCall) -> str:
    """Whose delegated tasks the call's are: the caller's address (From: user@host), as the
    trunk gives it; without a user part, the call alone (docs/delegation.md)."""
    address = call.invite.invite.from_addr
    if address is None or not address.uri.user:
        return f"call:{call.id}"
    return f"sip:{address.uri.user}@{address.uri.host}"
