"""Phone calls through a carrier's media stream, end to end on 127.0.0.1: a scripted carrier
(`bench.media_stream_caller`, on the `websockets` package) streams real speech as µ-law 8 kHz
into a real `voice serve` with the real models, and hears the answer."""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree

import httpx
import numpy as np
import pytest
import websockets

from bench.media_stream_caller import StreamCaller
from tests.server.serving import TOKEN, call_tasks, clip, running_server, serve_config, wait_for

pytestmark = pytest.mark.slow

WEATHER_EOS_S = 1.86  # weather-question.wav, from the corpus manifest


def test_a_phone_call_hears_the_answer_and_bad_input_harms_nothing() -> None:
    async def scenario() -> None:
        async with running_server(serve_config(max_sessions=1)) as (base, server):
            ws = base.replace("http://", "ws://") + "/phone/stream"
            async with httpx.AsyncClient() as http:
                refused = await http.post(f"{base}/phone/answer")
                answer = await http.post(
                    f"{base}/phone/answer?token={TOKEN}", data={"From": "+15551234567"}
                )
            assert refused.status_code == 401
            stream = ElementTree.fromstring(answer.text).find("./Connect/Stream")
            assert stream is not None and stream.get("url") == ws
            parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
            # the token, and the calling number: whose delegated tasks the call's are
            assert parameters == {"token": TOKEN, "caller": "+15551234567"}

            async with StreamCaller(ws, "wrong") as intruder:
                assert await wait_for(lambda: intruder.closed, 10)
            assert intruder.socket.close_code == 1008

            caller = StreamCaller(ws, TOKEN)
            async with caller:
                assert await wait_for(lambda: server.phone_streams.active, 10)
                call = next(iter(server.phone_streams.active.values()))
                await caller.send("this is not JSON")  # skipped; the call goes on
                await caller.send({"event": "media", "media": {"payload": "@@"}})
                await caller.dtmf("7")
                clip_ns = caller.say(clip("weather-question.wav", tail_s=0.5))
                eos_sent = clip_ns + round(WEATHER_EOS_S * 1e9)
                assert await wait_for(lambda: call.session.result.turns, 40), "no turn"
                await wait_for(lambda: call.session.idle, 30)
            turn = call.session.result.turns[0]
            transcript = turn.transcript.lower()
            assert "weather" in transcript and "paris" in transcript, turn.transcript
            assert turn.outcome == "answered" and turn.reply
            heard = caller.record.first_audio_after(eos_sent)
            assert heard is not None, "no bot audio reached the carrier"
            audible = [p for _, p in caller.record.received if np.abs(p).max() > 100]
            assert len(audible) * 0.02 >= 0.5, "less than half a second of bot audio"
            assert call.bad_messages == 2
            assert [d.digit for d in call.transport.dtmf] == ["7"] == call.session.result.dtmf
            print(
                f"\nTTFA heard by the carrier {(heard - eos_sent) / 1e6:.0f} ms; "
                f"server TTFA {turn.ttfa_ns / 1e6 if turn.ttfa_ns else None} ms; {turn.reply!r}"
            )
            assert await wait_for(lambda: not server.phone_streams.active, 15)
            assert call_tasks() == []
            assert server.calls.slots.free == 1
            async with httpx.AsyncClient() as http:
                metrics = (await http.get(f"{base}/metrics")).text
            assert 'voice_errors_total{kind="bad_message"} 2.0' in metrics
            assert 'voice_turns_total{outcome="answered"} 1.0' in metrics
            assert 'voice_calls_total{transport="media_stream"} 1.0' in metrics

    asyncio.run(scenario())


def test_speaking_over_the_bot_clears_the_carriers_audio() -> None:
    """A real barge-in over the reply: the agent sends `clear`, and its audio stops."""

    async def scenario() -> None:
        async with running_server(serve_config(max_sessions=1)) as (base, server):
            ws = base.replace("http://", "ws://") + "/phone/stream"
            caller = StreamCaller(ws, TOKEN)
            async with caller:
                assert await wait_for(lambda: server.phone_streams.active, 10)
                call = next(iter(server.phone_streams.active.values()))
                caller.say(clip("weather-question.wav", tail_s=0.5))
                assert await wait_for(lambda: caller.record.onsets_ns(), 30), "bot never spoke"
                await asyncio.sleep(0.5)
                said = caller.say(clip("lecture-part1.wav")[: int(2.5 * 16_000)])
                onset = said + 40_000_000  # where the clip's speech begins, about
                assert await wait_for(lambda: caller.record.clears_ns(), 10), "no clear"
                await wait_for(lambda: len(call.session.result.turns) >= 1, 20)
            clear_at = caller.record.clears_ns()[0]
            print(f"\nclear reached the carrier {(clear_at - onset) / 1e6:.0f} ms after onset")
            assert clear_at > said  # the clear answered the barge-in, nothing before it
            assert call.session.result.turns[0].outcome == "interrupted"
            # after the clear the carrier got no more of the interrupted reply
            late = [t for t, p in caller.record.received if t > clear_at + 100_000_000]
            later_turns = [t.first_audio_ns for t in call.session.result.turns[1:]]
            assert not late or (later_turns and later_turns[0]), "the cut reply went on"

    asyncio.run(scenario())


def test_a_stream_that_never_starts_is_closed() -> None:
    async def scenario() -> None:
        async with running_server(serve_config(max_sessions=1)) as (base, _server):
            ws = base.replace("http://", "ws://") + "/phone/stream"
            async with websockets.connect(ws) as socket:
                await socket.send('{"event": "connected"}')
                await socket.send('{"event": "start"}')  # malformed: skipped
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(socket.recv(), 15)
                assert socket.close_code == 1008

    asyncio.run(scenario())
