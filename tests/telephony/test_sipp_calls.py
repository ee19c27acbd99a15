"""SIPp, a real SIP peer, calls the agent over loopback: it streams a real question as G.711,
the agent's RTP answer comes back, and every way a call can end ends it cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import jiwer
import pytest

from bench.measure import words
from bench.sipp import Ear, Scenario, run_sipp, write_ulaw
from tests.telephony.conftest import CORPUS, sip_config, sip_endpoint
from voice.audio import read_wav
from voice.providers.registry import Models
from voice.server.sip_calls import SipCalls

pytestmark = pytest.mark.slow

QUESTION = "weather-question.wav"  # "What is the weather in Paris?", 2.6 s


def question(tmp_path: Path) -> Path:
    return write_ulaw(read_wav(CORPUS / QUESTION), tmp_path / "question.ulaw")


async def call(
    endpoint: SipCalls, scenario: Scenario, tmp_path: Path, timeout_s: float = 60
) -> tuple[int, str, Ear]:
    ear = await Ear().open()
    try:
        code, log = await run_sipp(
            scenario, (endpoint.host, endpoint.port), [ear.port], tmp_path, timeout_s=timeout_s
        )
    finally:
        ear.close()
    for _ in range(200):  # the agent's side of the hang-up finishes its turn first
        if not endpoint.active:
            break
        await asyncio.sleep(0.05)
    return code, log, ear


def test_a_phone_call_hears_the_question_and_the_caller_hears_the_answer(
    models: Models, tmp_path: Path
) -> None:
    async def main() -> None:
        async with sip_endpoint(sip_config(), models) as endpoint:
            scenario = Scenario(audio=question(tmp_path), talk_ms=9_000)
            code, log, ear = await call(endpoint, scenario, tmp_path)
            assert code == 0, log
            assert not endpoint.active
            (ended,) = endpoint.ended
            assert ended.ended_by == "caller"
            text = endpoint.metrics.render().decode()
            assert 'voice_calls_total{transport="sip"} 1.0' in text
            assert "voice_active_sessions 0.0" in text
            answered = [t for t in ended.turns if t.outcome == "answered"]
            assert answered, [(t.transcript, t.outcome) for t in ended.turns]
            assert "weather" in answered[0].transcript.lower()
            assert len(ear.packets) >= 25, "less than 0.5 s of the answer came back"
            # what the caller heard is what the agent says it said
            heard = models.stt.transcribe(ear.audio())
            said = " ".join(t.reply for t in ended.turns if t.first_audio_ns is not None)
            assert jiwer.cer(words(said), words(heard)) <= 0.5, (said, heard)

    asyncio.run(main())


def test_a_call_cancelled_while_ringing_is_never_answered(models: Models, tmp_path: Path) -> None:
    async def main() -> None:
        async with sip_endpoint(sip_config(sip_ring_ms=2_000), models) as endpoint:
            code, log, _ = await call(endpoint, Scenario(cancel_after_ms=300), tmp_path)
            assert code == 0, log  # 200 to the CANCEL, 487 to the INVITE
            (ended,) = endpoint.ended
            assert ended.ended_by == "cancel" and ended.session is None
            assert endpoint.slots.free == 1

    asyncio.run(main())


def test_shutdown_sends_bye_to_a_call_in_progress(models: Models, tmp_path: Path) -> None:
    async def main() -> None:
        async with sip_endpoint(sip_config(), models) as endpoint:
            caller = asyncio.create_task(
                call(endpoint, Scenario(audio=question(tmp_path), expect_bye=True), tmp_path)
            )
            for _ in range(200):
                if endpoint.active:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            await endpoint.close()  # what `voice serve` does on Ctrl+C
            code, log, _ = await caller
            assert code == 0, log  # SIPp got the BYE and answered it
            (ended,) = endpoint.ended
            assert ended.ended_by == "agent"

    asyncio.run(main())


def test_hold_and_resume_by_re_invite_keep_the_call(models: Models, tmp_path: Path) -> None:
    async def main() -> None:
        # SIPp sends no RTP here and re-INVITEs 1 s after the call starts (bench/sipp.py), so
        # the timeout leaves that second a margin (1.0 s raced it and lost once under CI load)
        async with sip_endpoint(sip_config(sip_rtp_timeout_s=1.6), models) as endpoint:
            # on hold for 2.5 s, longer than the RTP timeout: a held call is not a vanished one
            scenario = Scenario(hold_ms=2_500, talk_ms=500)
            code, log, _ = await call(endpoint, scenario, tmp_path)
            assert code == 0, log
            (ended,) = endpoint.ended
            assert ended.holds == [True, False]
            assert ended.ended_by == "caller"

    asyncio.run(main())


def test_a_caller_that_vanishes_is_hung_up_when_its_rtp_stops(
    models: Models, tmp_path: Path
) -> None:
    async def main() -> None:
        async with sip_endpoint(sip_config(sip_rtp_timeout_s=1.0), models) as endpoint:
            code, log, _ = await call(endpoint, Scenario(hang_up=False, talk_ms=0), tmp_path)
            assert code == 0, log
            for _ in range(100):
                if endpoint.ended:
                    break
                await asyncio.sleep(0.05)
            (ended,) = endpoint.ended
            assert ended.ended_by == "timeout"
            assert endpoint.slots.free == 1

    asyncio.run(main())


def test_dtmf_digits_reach_the_session(models: Models, tmp_path: Path) -> None:
    async def main() -> None:
        async with sip_endpoint(sip_config(), models) as endpoint:
            code, log, _ = await call(endpoint, Scenario(dtmf="1#", talk_ms=500), tmp_path)
            assert code == 0, log
            (ended,) = endpoint.ended
            assert ended.session is not None
            assert ended.session.result.dtmf == ["1", "#"]

    asyncio.run(main())


def test_a_retransmitted_invite_does_not_fork_the_call(models: Models) -> None:
    from tests.telephony.test_serve_sip import invite

    async def main() -> None:
        async with sip_endpoint(sip_config(sip_ring_ms=300), models) as endpoint:
            loop = asyncio.get_running_loop()
            replies: asyncio.Queue[bytes] = asyncio.Queue()

            class Phone(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: object) -> None:
                    replies.put_nowait(data)

            phone, _ = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
            port = phone.get_extra_info("sockname")[1]
            message = invite("retransmitted-1", port)
            phone.sendto(message, (endpoint.host, endpoint.port))
            await asyncio.sleep(0.1)
            phone.sendto(message, (endpoint.host, endpoint.port))  # lost 100: sent again
            status = b""
            while not status.startswith(b"SIP/2.0 200"):
                status = await asyncio.wait_for(replies.get(), 10)
            assert len(endpoint.active) == 1
            call = endpoint.active["retransmitted-1"]
            assert endpoint.uas.get_call("retransmitted-1") is call.invite
            phone.close()

    asyncio.run(main())


def test_digest_authentication_challenges_and_admits_the_trunk(
    models: Models, tmp_path: Path
) -> None:
    async def main() -> None:
        config = sip_config(sip_auth_user="trunk", sip_auth_password="secret")
        for name in ("stranger", "wrong", "trunk"):
            (tmp_path / name).mkdir()
        async with sip_endpoint(config, models) as endpoint:
            stranger = await call(endpoint, Scenario(talk_ms=200), tmp_path / "stranger", 5)
            assert stranger[0] != 0 and "401" in stranger[1]  # no credentials: 401, not a call
            assert not endpoint.ended
            wrong = Scenario(talk_ms=200, auth=("trunk", "guess"))
            assert (await call(endpoint, wrong, tmp_path / "wrong", 5))[0] != 0
            assert not endpoint.ended
            trunk = Scenario(talk_ms=200, auth=("trunk", "secret"))
            code, log, _ = await call(endpoint, trunk, tmp_path / "trunk")
            assert code == 0, log
            (ended,) = endpoint.ended
            assert ended.ended_by == "caller"

    asyncio.run(main())


def test_a_call_over_tcp(models: Models, tmp_path: Path) -> None:
    async def main() -> None:
        async with sip_endpoint(sip_config(sip_tcp=True), models) as endpoint:
            scenario = Scenario(audio=question(tmp_path), talk_ms=7_000, tcp=True)
            code, log, ear = await call(endpoint, scenario, tmp_path)
            assert code == 0, log
            (ended,) = endpoint.ended
            assert ended.ended_by == "caller"
            assert len(ear.packets) >= 25

    asyncio.run(main())
