"""Honest openings: requests for live data or actions start with "Sorry, I can't"; questions
the agent can answer from what it knows are left alone."""

from __future__ import annotations

import threading

import pytest

from voice.replies.honesty import OPENING, reply_opening


@pytest.mark.parametrize(
    "text",
    [
        "What's the weather like in Madrid?",
        "Is it going to rain tomorrow?",
        "Any news today?",
        "Who won the match last night?",
        "What's the Tesla stock price?",
        "How's the traffic on the way to work?",
        "Hey, what time is it?",
        "Can you book a table for two at eight?",
        "Order me a large pizza.",
        "Set an alarm for six thirty.",
        "Remind me to call the dentist.",
        "Call Mum, please.",
        "Send a text to Alex saying I'm late.",
        "Turn on the kitchen lights.",
        "What's my bank balance?",
    ],
)
def test_live_data_and_actions_get_the_opening(text: str) -> None:
    assert reply_opening(text) == OPENING


@pytest.mark.parametrize(
    "text",
    [
        "What's the capital of Canada?",
        "What is a stock market?",
        "I read a good book yesterday.",
        "What does a meteorologist do?",
        "How many days are in a week?",
        "Tell me a joke about cats.",
        "Should I have coffee or tea?",
        "What's the time difference between London and Paris usually?",
        "I called my sister yesterday.",
        "What's seven plus five?",
    ],
)
def test_what_the_agent_can_answer_is_left_to_the_model(text: str) -> None:
    assert reply_opening(text) is None


@pytest.mark.slow
def test_the_local_model_continues_the_opening() -> None:
    from voice.config import load_config
    from voice.providers.base import DialogueTurn
    from voice.providers.registry import load_llm

    llm = load_llm(load_config(environ={}))
    question = [DialogueTurn("user", "What's the weather like in Madrid right now?")]
    reply = "".join(llm.stream_reply(question, threading.Event(), OPENING))
    assert reply.startswith(OPENING) and len(reply.split()) > 4, reply
    assert "\n" not in reply
