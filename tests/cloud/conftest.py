"""Emulator fixtures: each test gets a fresh emulator on 127.0.0.1, stopped after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cloud.emulators import (
    AnthropicEmulator,
    CartesiaEmulator,
    DeepgramEmulator,
    EmulatorServer,
)

KEY = "sk-emulator-0123456789abcdef"


@pytest.fixture
def deepgram() -> Iterator[EmulatorServer]:
    with EmulatorServer(DeepgramEmulator(key=KEY)) as server:
        yield server


@pytest.fixture
def anthropic() -> Iterator[EmulatorServer]:
    with EmulatorServer(AnthropicEmulator(key=KEY)) as server:
        yield server


@pytest.fixture
def cartesia() -> Iterator[EmulatorServer]:
    with EmulatorServer(CartesiaEmulator(key=KEY)) as server:
        yield server
