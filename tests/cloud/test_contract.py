"""Contract tests: the vendor's real SDK, through our provider, against the emulator.

Each asserts what reaches the wire (what the emulator recorded) and what comes back through
the provider protocol (transcript, text pieces, audio).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.cloud.conftest import KEY
from tests.cloud.emulators import EmulatorServer
from voice.config import AnthropicConfig, CartesiaConfig, DeepgramConfig
from voice.providers.base import DialogueTurn
from voice.providers.cloud.anthropic_llm import AnthropicLLM, to_messages
from voice.providers.cloud.cartesia_tts import CartesiaTTS
from voice.providers.cloud.deepgram_stt import DeepgramSTT

pytestmark = pytest.mark.timeout(30)


def test_deepgram_streams_the_utterance_and_returns_the_final_transcript(deepgram):
    stt = DeepgramSTT(KEY, DeepgramConfig(base_url=deepgram.base_url))
    pcm = (np.sin(np.arange(16000 * 2) / 10) * 3000).astype(np.int16)  # 2 s
    assert stt.transcribe(pcm) == "What is the weather like in London today?"
    request = deepgram.emulator.requests[-1]
    assert request["audio_bytes"] == pcm.nbytes
    assert request["query"]["encoding"] == "linear16"
    assert request["query"]["sample_rate"] == "16000"
    assert request["query"]["interim_results"] == "true"
    assert request["controls"] == ["Finalize", "CloseStream"]


def test_deepgram_takes_8khz_mulaw_as_is(deepgram):
    deepgram.emulator.transcript = "Hello from the phone."
    stt = DeepgramSTT(KEY, DeepgramConfig(base_url=deepgram.base_url))
    payload = bytes(range(256)) * 32  # 8192 mu-law bytes, about 1 s at 8 kHz
    assert stt.transcribe_encoded(payload, "mulaw", 8000) == "Hello from the phone."
    request = deepgram.emulator.requests[-1]
    assert request["query"]["encoding"] == "mulaw"
    assert request["query"]["sample_rate"] == "8000"
    assert request["audio_bytes"] == len(payload)


def test_deepgram_refused_key_raises(deepgram):
    stt = DeepgramSTT("not-the-key", DeepgramConfig(base_url=deepgram.base_url))
    with pytest.raises(Exception, match="401"):
        stt.transcribe(np.zeros(1600, dtype=np.int16))


def test_anthropic_streams_text_with_a_cached_system_prompt_and_the_history(anthropic):
    llm = AnthropicLLM(KEY, AnthropicConfig(base_url=anthropic.base_url), "Be brief.")
    history = [
        DialogueTurn("user", "Tell me a story."),
        DialogueTurn("assistant", "Once upon a", interrupted=True),
        DialogueTurn("user", "What's the weather in London?"),
    ]
    pieces = list(llm.stream_reply(history, threading.Event()))
    assert len(pieces) > 3  # streamed, not one block
    assert "".join(pieces) == anthropic.emulator.reply
    body = anthropic.emulator.requests[-1]
    assert body["stream"] is True
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert body["system"][0]["text"].startswith("Be brief.")
    assert body["messages"] == [
        {"role": "user", "content": "Tell me a story."},
        {"role": "assistant", "content": "Once upon a…"},
        {"role": "user", "content": "What's the weather in London?"},
    ]
    headers = anthropic.emulator.headers[-1]
    assert KEY in (headers.get("x-api-key"), headers.get("Authorization", "")[len("Bearer ") :])
    assert "anthropic-version" in headers


def test_anthropic_stops_when_cancelled(anthropic):
    anthropic.emulator.token_ms = 20
    llm = AnthropicLLM(KEY, AnthropicConfig(base_url=anthropic.base_url))
    cancel = threading.Event()
    pieces = []
    for piece in llm.stream_reply([DialogueTurn("user", "Hi")], cancel):
        pieces.append(piece)
        cancel.set()
    assert len(pieces) == 1


def test_messages_start_with_the_user_and_alternate():
    history = [
        DialogueTurn("assistant", "Hello, how can I help?"),
        DialogueTurn("user", "Hi"),
        DialogueTurn("user", "Are you there?"),
        DialogueTurn("assistant", "", interrupted=True),
        DialogueTurn("user", "Hello?"),
    ]
    assert to_messages(history) == [{"role": "user", "content": "Hi\nAre you there?\nHello?"}]


def _audio(tts: CartesiaTTS, text: str, cancel: threading.Event) -> np.ndarray:
    return np.concatenate(list(tts.synthesize(text, cancel)))


def test_cartesia_continues_one_context_across_the_clauses_of_a_turn(cartesia):
    tts = CartesiaTTS(KEY, CartesiaConfig(base_url=cartesia.base_url), sample_rate=22050)
    turn = threading.Event()
    first = _audio(tts, "Sure,", turn)
    second = _audio(tts, "it is sunny in London.", turn)
    # the tone is 60 ms per character at the requested rate, 16-bit
    assert len(first) == int(len("Sure,") * 0.06 * 22050)
    assert len(second) == int(len("it is sunny in London.") * 0.06 * 22050)
    assert first.dtype == np.int16 and np.abs(first).max() > 5000
    requests = cartesia.emulator.requests
    assert [r["transcript"] for r in requests] == ["Sure, ", "it is sunny in London. "]
    assert requests[0]["context_id"] == requests[1]["context_id"]
    assert all(r["continue"] and r["flush"] for r in requests)
    assert requests[0]["output_format"] == {
        "container": "raw",
        "encoding": "pcm_s16le",
        "sample_rate": 22050,
    }
    # the next turn gets a new context; the old one is told it is over
    _audio(tts, "Next turn.", threading.Event())
    assert requests[-1]["context_id"] != requests[0]["context_id"]
    closing = [r for r in requests if r["context_id"] == requests[0]["context_id"]][-1]
    assert closing["continue"] is False and closing["transcript"] == ""


def test_cartesia_cancel_sends_a_cancel_for_the_context(cartesia):
    tts = CartesiaTTS(KEY, CartesiaConfig(base_url=cartesia.base_url), sample_rate=16000)
    cancel = threading.Event()
    chunks = tts.synthesize("A rather long sentence that takes a while to say out loud.", cancel)
    next(chunks)
    cancel.set()
    list(chunks)
    deadline = time.monotonic() + 5
    while not cartesia.emulator.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    cancels = [r for r in cartesia.emulator.requests if r.get("cancel")]
    assert len(cancels) == 1
    # the connection is still good for the next turn
    assert len(_audio(tts, "Hello.", threading.Event())) > 0


@pytest.mark.parametrize("vendor", ["deepgram", "anthropic", "cartesia"])
def test_doctor_check_passes_with_the_key_and_fails_without(vendor, request):
    server: EmulatorServer = request.getfixturevalue(vendor)
    make = {
        "deepgram": lambda key: DeepgramSTT(key, DeepgramConfig(base_url=server.base_url)),
        "anthropic": lambda key: AnthropicLLM(key, AnthropicConfig(base_url=server.base_url)),
        "cartesia": lambda key: CartesiaTTS(
            key, CartesiaConfig(base_url=server.base_url), sample_rate=16000
        ),
    }[vendor]
    make(KEY).check()
    with pytest.raises(Exception) as refused:
        make("wrong-key").check()
    assert "401" in str(refused.value) or "uthenticat" in str(refused.value)
