"""Pipecat as a benchmark peer: one real session per variant through our loopback transport.

The slow tests play the real weather question in real time to Pipecat (stock: its own
services, the LLM behind our llama.cpp server; same_providers: our providers as Pipecat
services) and check what crosses the transport boundary. Speed is printed, not asserted.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.peers.llm_server import dialogue_history, render_messages
from bench.peers.pipecat_peer import PipecatPeer
from tests.bench.peer_session import check_weather_answer
from voice.config import load_config
from voice.providers.base import DialogueTurn
from voice.providers.llama_llm import DEFAULT_SYSTEM_PROMPT, render_prompt


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


def test_server_chat_format_renders_a_chat_template_profile_as_our_agent_does() -> None:
    """The `quality` profile: the peers' server renders the GGUF's template with the profile's
    examples, exactly the prompt our LlamaLLM sends, and stops at the template's end marker."""
    from llama_cpp import Llama

    from voice.providers.dialogue_format import ChatTemplateFormat
    from voice.providers.llm_profiles import PROFILES
    from voice.providers.prompts import PROMPTS

    profile = PROFILES["quality"]
    chat = ChatTemplateFormat.of(Llama(str(profile.model()), vocab_only=True, verbose=False))
    prompt = PROMPTS[profile.prompt]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the weather in Paris?"},
    ]
    history = [DialogueTurn("user", "What is the weather in Paris?")]
    rendered = render_messages(messages, prompt, chat=chat)
    assert rendered == chat.reply_prompt("Be brief.", prompt.few_shot, history)
    assert rendered.startswith("<|im_start|>system\nBe brief.")
    assert rendered.endswith("What is the weather in Paris?<|im_end|>\n<|im_start|>assistant\n")
    assert "<|im_end|>" in chat.stop


def test_stock_variant_needs_the_llm_server() -> None:
    with pytest.raises(ValueError, match="llm_base_url"):
        PipecatPeer("stock", load_config())
    assert PipecatPeer("same_providers", load_config()).name == "pipecat_same_providers"
    assert PipecatPeer("stock", load_config(), "http://127.0.0.1:1/v1").name == "pipecat"
    vad_only = PipecatPeer("stock", load_config(), "http://127.0.0.1:1/v1", end_of_turn="vad")
    assert vad_only.name == "pipecat_vad"
    assert vad_only.describe()["end_of_turn"]["model"] == "vad"
    assert (
        PipecatPeer("same_providers", load_config(), end_of_turn="vad").name
        == "pipecat_same_providers_vad"
    )


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["stock", "same_providers"])
def test_pipecat_answers_the_weather_question_through_the_loopback(
    variant: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("llm_url") if variant == "stock" else None
    peer = PipecatPeer(variant, load_config(), url)  # type: ignore[arg-type]

    turns, description = check_weather_answer(peer)
    assert description["end_of_turn"]["model"] == "smart-turn-v3.2-cpu"
    assert description["threads"]["end_of_turn"] == 1
    predictions = [p for turn in turns for p in turn["eot_predictions"]]
    assert predictions and all(0.0 <= p["p"] <= 1.0 for p in predictions), turns
    if variant == "stock":  # Pipecat's stock Piper is pinned to our TTS thread count
        assert description["threads"]["tts"] == load_config().tts.threads


@pytest.mark.slow
def test_pipecat_vad_only_answers_without_smart_turn() -> None:
    peer = PipecatPeer("same_providers", load_config(), end_of_turn="vad")

    turns, description = check_weather_answer(peer)
    assert description["end_of_turn"]["model"] == "vad"
    assert all(turn["eot_predictions"] == [] for turn in turns)
