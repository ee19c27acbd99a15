"""A real `voice serve` app on 127.0.0.1 for the tests, in the test's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn

from bench.peers.llm_server import free_port
from bench.webrtc_caller import poll
from voice.config import Config, load_config
from voice.providers.registry import load_models
from voice.server.app import Server, create_app, server_of
from voice.talk import load_caller_audio

TOKEN = "test-token"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared/corpus/real"


def serve_config(max_sessions: int = 1) -> Config:
    config = load_config(environ={})
    config.serve.ice_hosts = ["127.0.0.1"]  # aioice leaves loopback out by default
    config.serve.max_sessions = max_sessions
    return config


@asynccontextmanager
async def running_server(config: Config) -> AsyncIterator[tuple[str, Server]]:
    app = create_app(config, load_models(config), token=TOKEN)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(3000):  # its lifespan may start the harness beside it: a few seconds
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}", server_of(app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def clip(name: str, tail_s: float = 0.0) -> np.ndarray:
    pcm = load_caller_audio(CORPUS / name)
    return np.concatenate([pcm, np.zeros(int(tail_s * 16_000), dtype=np.int16)])


def call_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("call-") and not t.done()]


wait_for = poll  # the caller's poll, under the name the tests read best
