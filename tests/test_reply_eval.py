"""The reply-quality checks, on hand-written replies (no model): each rule can fail."""

from __future__ import annotations

from bench.reply_eval import Request, contains, kinds_complete, load_requests, score, sentences
from bench.reply_run import REQUESTS
from voice.providers.base import DialogueTurn
from voice.providers.prompts import PROMPTS

V1 = PROMPTS["v1"]
CAPITAL = Request("fact-capital", "fact", "What's the capital of Australia?",
                  must=(("canberra",),), must_not=("sydney",), min_words=1)  # fmt: skip
WEATHER = Request("cannot-weather", "cannot", "What's the weather in Paris right now?",
                  must_not=("sunny", "degrees"), refusal=True)  # fmt: skip


def test_a_correct_short_answer_passes() -> None:
    assert score(CAPITAL, "It's Canberra.", V1).passed


def test_each_rule_fails_on_its_own() -> None:
    assert score(CAPITAL, "", V1).failed == ["empty"]
    assert score(CAPITAL, "Sydney, of course.", V1).failed == ["must", "must_not"]
    assert "refusal" in score(CAPITAL, "I can't tell you, but it's Canberra.", V1).failed
    three = "Canberra. It is small. It is nice."
    assert score(CAPITAL, three, V1).failed == ["sentences"]
    assert score(WEATHER, "It's sunny and 20 degrees.", V1).failed == ["must_not", "refusal"]
    assert score(WEATHER, "Sorry, I have no live weather data.", V1).passed
    invented = "I can't check live weather, but Paris is usually mild."
    assert score(WEATHER, invented, V1).failed == ["leak"]  # five words of the example
    assert score(CAPITAL, "Canberra, like Berlin, is a capital.", V1).failed == ["leak"]


def test_words_the_caller_said_or_the_answer_needs_are_not_leaks() -> None:
    about_berlin = Request("fact-berlin", "fact", "Which country is Berlin in?",
                           must=(("germany",),), min_words=1)  # fmt: skip
    assert score(about_berlin, "Berlin is in Germany.", V1).passed
    history = (DialogueTurn("user", "Tell me about Germany."), DialogueTurn("assistant", "Sure."))
    followup = Request(
        "followup", "followup", "Its capital?", must=(("berlin",),), min_words=1, history=history
    )
    assert score(followup, "Berlin.", V1).passed


def test_matching_is_on_word_boundaries() -> None:
    assert contains("It has 8 legs.", "8")
    assert not contains("It has 18 legs.", "8")
    assert contains("That costs $5.", "$")
    assert sentences("One. Two! Three?") == 3 and sentences("No end") == 1


def test_the_committed_set_loads_with_every_kind() -> None:
    requests = load_requests(REQUESTS)
    assert len(requests) >= 60
    assert kinds_complete(requests)
    assert sum(r.audio for r in requests) >= len(requests) // 3
