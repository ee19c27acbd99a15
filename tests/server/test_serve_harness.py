"""`voice serve --harness`: the agent and its durable harness in one command. A caller on the
phone asks for a booking; the same process's harness runs it as a Temporal workflow; the
caller hears the acknowledgement, then the result."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.media_stream_caller import StreamCaller
from tests.integration.test_delegation import REQUEST, spoken
from tests.server.serving import TOKEN, running_server, serve_config, wait_for
from voice.delegate.policy import ACKNOWLEDGEMENT
from voice.providers.registry import load_models

pytestmark = pytest.mark.slow


def test_voice_serve_with_its_harness_takes_a_booking_by_phone(tmp_path: Path) -> None:
    config = serve_config()
    models = load_models(config)  # the server's own (models are loaded once per process)
    config.serve.harness = True
    config.harness.port = 0  # a free one
    config.harness.step_s = 0.5
    config.harness.data_dir = str(tmp_path / "harness")
    config.delegate.db_path = str(tmp_path / "tasks.db")
    request = spoken(models, REQUEST)

    async def scenario() -> None:
        async with running_server(config) as (base, server):
            assert config.delegate.enabled and config.delegate.url.startswith("http://127.0.0.1")
            caller = StreamCaller(base.replace("http://", "ws://") + "/phone/stream", TOKEN)
            async with caller:
                assert await wait_for(lambda: server.phone_streams.active, 10)
                call = next(iter(server.phone_streams.active.values()))
                caller.say(request)
                answered = await wait_for(
                    lambda: len(call.session.history) >= 3 and call.session.idle, 90
                )
                assert answered, call.session.history
            user, ack, *_, result = call.session.history
            assert "table" in user.text.lower()
            assert ack.text == ACKNOWLEDGEMENT
            assert result.text.startswith("Your booking is done:"), result.text
            assert len(caller.record.onsets_ns()) >= 2  # the caller heard both

    asyncio.run(scenario())
