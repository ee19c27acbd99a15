"""Telephony fixtures: the real default models (loaded once), and a SIP endpoint to call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bench.sipp import free_udp_port
from voice.config import Config, load_config
from voice.providers.registry import Models, load_models
from voice.server.llm_slots import LLMSlots
from voice.server.metrics import ServerMetrics
from voice.server.sip_calls import SipCalls

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/corpus/real"


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config(environ={})


@pytest.fixture(scope="session")
def models(config: Config) -> Models:
    return load_models(config)


def sip_config(**serve: object) -> Config:
    config = load_config(environ={})
    config.serve.sip = f"127.0.0.1:{free_udp_port()}"
    for key, value in serve.items():
        setattr(config.serve, key, value)
    return config


@asynccontextmanager
async def sip_endpoint(config: Config, models: Models, slots: int = 1) -> AsyncIterator[SipCalls]:
    """A running SIP endpoint in the test's event loop, closed (BYE to calls) at the end."""
    config.serve.max_sessions = slots
    endpoint = SipCalls(config, LLMSlots(config, models, slots), ServerMetrics())
    await endpoint.start()
    try:
        yield endpoint
    finally:
        await asyncio.wait_for(endpoint.close(), 30)
