"""The two dialogue formats on the real models: the cut that scores end of turn is a prefix of
the reply's prompt, and the line-end probability tells a finished question from a fragment."""

from __future__ import annotations

import threading

import pytest

from voice.config import load_config
from voice.providers.base import DialogueTurn
from voice.providers.dialogue_format import TranscriptFormat
from voice.providers.llama_llm import LlamaLLM
from voice.providers.llm_profiles import PROFILES
from voice.providers.prompts import PROMPTS

QUESTION = [DialogueTurn("user", "What is the capital of France")]


def test_the_transcript_cut_is_a_prefix_of_the_reply_prompt() -> None:
    fmt = TranscriptFormat()
    cut, end = fmt.line_end_prompt("Sys.", PROMPTS["v3"].few_shot, QUESTION)
    reply = fmt.reply_prompt("Sys.", PROMPTS["v3"].few_shot, QUESTION)
    assert end == "\n" and cut.endswith("User: What is the capital of France")
    assert reply.startswith(cut) and reply.endswith("\nAssistant:")


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["fast", "quality"])
def test_each_profile_scores_the_end_of_a_line_and_answers(profile: str) -> None:
    chosen = PROFILES[profile]
    config = load_config(environ={})
    llm = LlamaLLM(
        chosen.model(),
        threads=config.llm.threads,
        prompt=PROMPTS[chosen.prompt],
        chat_template=chosen.chat_template,
    )
    if chosen.chat_template:
        cut, end = llm.format.line_end_prompt(llm.system_prompt, llm.prompt.few_shot, QUESTION)
        assert end == "<|im_end|>" and cut.endswith("What is the capital of France")
        assert llm.format.reply_prompt(llm.system_prompt, llm.prompt.few_shot, QUESTION).startswith(
            cut
        )
    finished = llm.end_of_turn_probability([], "What is the capital of France?")
    fragment = llm.end_of_turn_probability([], "What is the capital of")
    assert finished > fragment, (finished, fragment)
    reply = "".join(llm.stream_reply(QUESTION, threading.Event()))
    assert reply.strip() and "\n" not in reply
    print(f"\n{profile}: P(end) {finished:.3f} vs {fragment:.3f}; reply {reply!r}")
