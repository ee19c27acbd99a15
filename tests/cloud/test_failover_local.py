"""A stalled cloud provider: the real local model of that stage answers within 1 s of the stall.

The emulator accepts the call and never answers. The stall is declared at the first-byte
deadline (300 ms here); from then on the local model (Whisper, Gemma, Piper: the installed
defaults) must produce its first output within 1 s.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from tests.cloud.conftest import KEY
from voice.config import Config
from voice.providers import registry
from voice.providers.base import DialogueTurn
from voice.talk import load_caller_audio
from voice.trace.turn_trace import TurnTrace

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
DEADLINE_MS = 300


def _config(stage: str, vendor: str, base_url: str) -> Config:
    config = Config()
    config.providers = dataclasses.replace(config.providers, **{stage: vendor})
    setattr(
        config,
        vendor,
        dataclasses.replace(
            getattr(config, vendor), base_url=base_url, first_byte_timeout_ms=DEADLINE_MS
        ),
    )
    return config


def _first_output_after_stall(outputs) -> tuple[object, float]:
    started = time.monotonic()
    first = next(iter(outputs))
    return first, time.monotonic() - started - DEADLINE_MS / 1000


def test_stalled_deepgram_falls_back_to_whisper(deepgram, monkeypatch, real_corpus):
    monkeypatch.setenv("DEEPGRAM_API_KEY", KEY)
    deepgram.emulator.stall = True
    stt = registry.load_stt(_config("stt", "deepgram", deepgram.base_url))
    trace = TurnTrace(1, eos_ns=0)
    pcm = load_caller_audio(real_corpus / "hello-world.wav")
    started = time.monotonic()
    text = stt.transcribe(pcm)
    after_stall = time.monotonic() - started - DEADLINE_MS / 1000
    assert "hello" in text.lower()
    assert after_stall < 1.0, f"local STT took {after_stall:.2f} s after the stall"
    assert deepgram.emulator.requests  # the cloud was tried first
    assert trace.failovers[0]["stage"] == "stt" and trace.failovers[0]["to"] == "whisper"


def test_stalled_anthropic_falls_back_to_the_local_llm(anthropic, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    anthropic.emulator.stall = True
    llm = registry.load_llm(_config("llm", "anthropic", anthropic.base_url))
    history = [DialogueTurn("user", "What is the capital of France?")]
    llm.warm_up(history[:0])
    trace = TurnTrace(1, eos_ns=0)
    piece, after_stall = _first_output_after_stall(llm.stream_reply(history, threading.Event()))
    assert isinstance(piece, str) and piece
    assert after_stall < 1.0, f"local LLM took {after_stall:.2f} s after the stall"
    assert anthropic.emulator.requests
    assert trace.failovers[0]["stage"] == "llm" and trace.failovers[0]["to"] == "llama"


def test_stalled_cartesia_falls_back_to_piper(cartesia, monkeypatch):
    monkeypatch.setenv("CARTESIA_API_KEY", KEY)
    cartesia.emulator.stall = True
    tts = registry.load_tts(_config("tts", "cartesia", cartesia.base_url))
    trace = TurnTrace(1, eos_ns=0)
    chunk, after_stall = _first_output_after_stall(
        tts.synthesize("Sure, here it is.", threading.Event())
    )
    assert len(chunk) > 0 and tts.sample_rate == 22050
    assert after_stall < 1.0, f"local TTS took {after_stall:.2f} s after the stall"
    assert cartesia.emulator.requests
    assert trace.failovers[0]["stage"] == "tts" and trace.failovers[0]["to"] == "piper"


def test_stalled_anthropic_with_tools_falls_back_to_the_local_llm_in_words(anthropic, monkeypatch):
    """Delegation's tools offered (voice/delegate/tools.py): the local model has none and
    answers the same turn in words."""
    from voice.delegate.tools import TOOLS

    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    anthropic.emulator.stall = True
    llm = registry.load_llm(_config("llm", "anthropic", anthropic.base_url))
    history = [DialogueTurn("user", "What is the capital of France?")]
    llm.warm_up(history[:0])
    piece, after_stall = _first_output_after_stall(
        llm.stream_reply_with_tools(history, threading.Event(), TOOLS)  # type: ignore[attr-defined]
    )
    assert isinstance(piece, str) and piece
    assert after_stall < 1.0, f"local LLM took {after_stall:.2f} s after the stall"
    assert [t["name"] for t in anthropic.emulator.tools[-1]] == [t.name for t in TOOLS]
