"""Honest replies: requests for live data or actions get one sentence saying what the agent
cannot do; questions it can answer from what it knows are left to the model."""

from __future__ import annotations

import pytest

from voice.pipeline.clauses import split_clauses
from voice.replies.honesty import honest_reply


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
def test_live_data_and_actions_get_one_honest_sentence(text: str) -> None:
    reply = honest_reply(text)
    assert reply is not None and reply.startswith("I'm sorry, I can't") and reply.count(".") == 1
    assert split_clauses(reply)[0] == "I'm sorry,"  # a two-word first clause: quick to speak


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
    assert honest_reply(text) is None
