"""Emulators of the cloud vendors' wire protocols, for tests and the bench (never the default path).

Each speaks the protocol as the official SDK sends and expects it (Deepgram's listen WebSocket,
Anthropic's Messages SSE stream, Cartesia's TTS WebSocket), answers with canned content, checks
the key, records what it was sent, can stall on purpose, and can add a network delay. They bind
127.0.0.1 on a free port. `python -m tests.cloud.emulators --delay-ms 60` runs all three.
"""

from tests.cloud.emulators.anthropic_emulator import AnthropicEmulator
from tests.cloud.emulators.cartesia_emulator import CartesiaEmulator
from tests.cloud.emulators.deepgram_emulator import DeepgramEmulator
from tests.cloud.emulators.server import EmulatorServer, NetworkDelay

__all__ = [
    "AnthropicEmulator",
    "CartesiaEmulator",
    "DeepgramEmulator",
    "EmulatorServer",
    "NetworkDelay",
]
