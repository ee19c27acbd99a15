"""`voice serve` end to end over real WebRTC on 127.0.0.1: a scripted aiortc caller plays real
speech into a real server with the real models, and hears the answer.

The browser's own test is `test_browser.py`; these check the server's contract and its
behaviour when callers misbehave, which a browser test cannot provoke.
"""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from bench.webrtc_caller import Caller
from tests.server.serving import (
    TOKEN,
    call_tasks,
    clip,
    running_server,
    serve_config,
    wait_for,
)

pytestmark = pytest.mark.slow

WEATHER_EOS_S = 1.86  # weather-question.wav, from the corpus manifest


async def _refusals(base: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        offer = {"sdp": "v=0\r\n", "type": "offer"}
        missing = await http.post(f"{base}/offer", json=offer)
        wrong = await http.post(
            f"{base}/offer", json=offer, headers={"Authorization": "Bearer nope"}
        )
        garbage = await http.post(
            f"{base}/offer",
            json={"sdp": "hello", "type": "offer"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        page = await http.get(f"{base}/?token={TOKEN}")
        script = await http.get(f"{base}/static/app.js")
    assert missing.status_code == 401 and wrong.status_code == 401
    assert garbage.status_code == 400 and "not SDP" in garbage.json()["detail"]
    assert page.status_code == 200 and 'id="talk"' in page.text
    assert script.status_code == 200 and "RTCPeerConnection" in script.text


def test_a_call_answers_the_weather_question_after_bad_offers() -> None:
    async def scenario() -> None:
        async with running_server(serve_config(max_sessions=1)) as (base, server):
            await _refusals(base)  # and the next valid call still works
            caller = Caller(base, TOKEN, clip("weather-question.wav", tail_s=0.5))
            async with caller:
                await caller.play(then_s=20, until=lambda: caller.record.turns())
                eos_sent = caller.mic.sent_ns(WEATHER_EOS_S)
            record = caller.record
            assert [m["type"] for m in record.messages][:1] == ["hello"]
            turns = record.turns()
            assert len(turns) == 1, record.messages
            transcript = turns[0]["transcript"].lower()
            assert "weather" in transcript and "paris" in transcript, turns[0]
            assert turns[0]["outcome"] == "answered" and turns[0]["reply"], turns[0]
            assert turns[0]["spans"]["endpoint"]["start_ms"] == 0.0  # relative to the EoS
            speaking = [m for m in record.messages if m["type"] == "speaking"]
            assert speaking and speaking[0]["eos_age_ms"] > 0
            assert eos_sent is not None
            heard = record.first_audio_after(eos_sent)
            assert heard is not None, "no bot audio reached the caller"
            audible = [p for _, p in record.received if np.abs(p.astype(np.int32)).max() > 100]
            assert len(audible) * 0.02 >= 0.5, "less than half a second of bot audio"
            print(
                f"\nTTFA heard by the caller {(heard - eos_sent) / 1e6:.0f} ms; "
                f"server TTFA {turns[0]['ttfa_ms']} ms; reply {turns[0]['reply']!r}"
            )
            assert await wait_for(lambda: not server.calls.active, 15)
            assert call_tasks() == []
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(f"{base}/metrics")).text
                health = (await http.get(f"{base}/healthz")).json()
            assert 'voice_turns_total{outcome="answered"} 1.0' in metrics
            assert "voice_ttfa_seconds_count 1.0" in metrics
            assert 'voice_calls_total{transport="webrtc"} 1.0' in metrics
            assert "voice_active_sessions 0.0" in metrics
            assert 'voice_errors_total{kind="unauthorized"} 2.0' in metrics
            assert health == {"status": "ok", "sessions": 0, "max_sessions": 1}

    asyncio.run(scenario())


def test_the_session_limit_answers_503_and_frees_the_slot_on_hang_up() -> None:
    async def scenario() -> None:
        async with running_server(serve_config(max_sessions=1)) as (base, server):
            silence = np.zeros(16_000, dtype=np.int16)
            async with Caller(base, TOKEN, silence):
                with pytest.raises(RuntimeError, match="503"):
                    async with Caller(base, TOKEN, silence):
                        pass
            assert await wait_for(lambda: not server.calls.active, 15)
            async with Caller(base, TOKEN, silence) as again:
                assert again.record.session is not None

    asyncio.run(scenario())


def test_a_caller_who_vanishes_mid_reply_leaves_nothing_running() -> None:
    async def scenario() -> None:
        async with running_server(serve_config(max_sessions=1)) as (base, server):
            caller = Caller(base, TOKEN, clip("weather-question.wav", tail_s=0.5))
            async with caller:
                started = await wait_for(lambda: caller.record.onsets_ns(), 25)
                assert started, "the bot never started speaking"
                # leave without a word: the `async with` closes the connection mid-reply
            assert await wait_for(lambda: not server.calls.active, 20)
            assert call_tasks() == []
            assert server.calls.slots.free == 1

    asyncio.run(scenario())


def test_speaking_over_the_bot_stops_its_audio_at_the_caller() -> None:
    """A real barge-in ("And says, how do I get to Dublin?") over the reply: the bot's audio
    stops reaching the caller, and the turn is recorded as interrupted."""

    async def scenario() -> None:
        async with running_server(serve_config(max_sessions=1)) as (base, _server):
            caller = Caller(base, TOKEN, clip("weather-question.wav", tail_s=0.5))
            async with caller:
                assert await wait_for(lambda: caller.record.onsets_ns(), 25), "bot never spoke"
                await asyncio.sleep(0.5)
                barge = clip("lecture-part1.wav")[: int(2.5 * 16_000)]
                onset = caller.mic.say(barge) + int(0.04 * 1e9)
                await caller.play(then_s=20, until=lambda: caller.record.turns())
            record = caller.record
            first = record.turns()[0]
            assert first["outcome"] == "interrupted", first
            assert 0 < len(first["reply"]) < 60, first  # only the words heard before the stop
            audible_after = [
                t
                for t, pcm in record.received
                if t > onset and np.abs(pcm.astype(np.int32)).max() > 100
            ]
            last = max(audible_after, default=onset)
            print(f"\nbot audio at the caller stopped {(last - onset) / 1e6:.0f} ms after onset")
            # how fast is `voice bench`'s business; here: it stopped well before the reply's end
            assert last - onset < 3_000_000_000, "the bot kept talking over the caller"

    asyncio.run(scenario())


def test_shutting_the_server_down_ends_its_calls_cleanly() -> None:
    async def scenario() -> None:
        silence = np.zeros(16_000, dtype=np.int16)
        async with running_server(serve_config(max_sessions=1)) as (base, server):
            caller = Caller(base, TOKEN, silence)
            await caller.__aenter__()
            assert server.calls.active
        # the server's lifespan has ended: every call hung up, no task left behind
        assert not server.calls.active
        assert call_tasks() == []
        assert await wait_for(lambda: caller.pc.connectionState in ("closed", "failed"), 40)
        await caller.__aexit__()

    asyncio.run(scenario())
