"""Pipecat as a benchmark peer: one real session per variant through our loopback transport.

The slow tests play the real weather question in real time to Pipecat (stock: its own
services, the LLM behind our llama.cpp server; same_providers: our providers as Pipecat
services) and check what crosses the transport boundary. Speed is printed, not asserted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.peers.llm_server import dialogue_history, render_messages, start_llm_server
from bench.peers.pipecat_peer import PipecatPeer
from voice.config import load_config
from voice.providers import model_files
from voice.providers.base import DialogueTurn
from voice.providers.llama_llm import DEFAULT_SYSTEM_PROMPT, render_prompt
from voice.talk import load_caller_audio
from voice.transports.loopback import LoopbackTransport

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/corpus/real"
END_OF_SPEECH_S = 1.86  # weather-question.wav, from the corpus manifest


def test_server_chat_format_renders_our_prompt() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "Hello there."},
        {"role": "assistant", "content": [{"type": "text", "text": "Hi!"}]},
        {"role": "user", "content": "What is the  weather in Paris?"},
    ]
    history = [
        DialogueTurn("user", "Hello there."),
        DialogueTurn("assistant", "Hi!"),
        DialogueTurn("user", "What is the weather in Paris?"),
    ]
    assert dialogue_history(messages) == history
    assert render_messages(messages) == render_prompt(DEFAULT_SYSTEM_PROMPT, history)
    assert render_messages(messages).endswith("\nUser: What is the weather in Paris?\nAssistant:")
    # without a system message, our default prompt is used
    assert render_messages(messages[1:]) == render_messages(messages)


def test_stock_variant_needs_the_llm_server() -> None:
    with pytest.raises(ValueError, match="llm_base_url"):
        PipecatPeer("stock", load_config())
    assert PipecatPeer("same_providers", load_config()).name == "pipecat_same_providers"
    assert PipecatPeer("stock", load_config(), "http://127.0.0.1:1/v1").name == "pipecat"


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with start_llm_server(model_files.gemma_gguf_path(), threads=2) as url:
        yield url


async def _session(peer: PipecatPeer) -> tuple[list[dict[str, Any]], LoopbackTransport, list]:
    pcm = load_caller_audio(CORPUS / "weather-question.wav")
    transport = LoopbackTransport(pcm)
    await peer.start()
    try:
        turns = await peer.run(transport)
    finally:
        await peer.close()
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    return turns, transport, left


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["stock", "same_providers"])
def test_pipecat_answers_the_weather_question_through_the_loopback(
    variant: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("llm_url") if variant == "stock" else None
    peer = PipecatPeer(variant, load_config(), url)  # type: ignore[arg-type]

    turns, transport, left = asyncio.run(_session(peer))

    assert left == [], f"tasks left running after run(): {left}"
    assert len(turns) >= 1, turns
    transcript = turns[0]["transcript"].lower()
    assert "weather" in transcript and "paris" in transcript, turns
    assert set(turns[0]) >= {"transcript", "reply", "interrupted", "spans"}
    first = transport.first_output_ns
    assert first is not None, "no bot audio reached the transport"
    end_of_speech = transport.media_time_ns(END_OF_SPEECH_S)
    assert first > end_of_speech
    assert len(transport.bot_audio()) >= 0.5 * 16_000
    assert all(len(pcm) == 320 for _, pcm in transport.output)
    print(
        f"\n{peer.name}: TTFA {(first - end_of_speech) / 1e6:.0f} ms (busy machine: "
        f"for information only); reply: {turns[0]['reply']!r}; "
        f"spans: {sorted(turns[0]['spans'])}"
    )
