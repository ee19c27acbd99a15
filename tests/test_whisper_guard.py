import pytest

from voice.providers.whisper_stt import cut_repetitions


@pytest.mark.parametrize(
    "decoded,expected",
    [
        (
            "What is the weather in Paris? What is the weather in Paris? What is the weather in "
            "Paris? What is",
            "What is the weather in Paris?",
        ),
        ("What is the weather in Paris? What", "What is the weather in Paris?"),
        (
            "What's the weather to? What's the weather to? What's the weather to?",
            "What's the weather to?",
        ),
        ("the the the the the cat", "the cat"),
        ("Hello World.", "Hello World."),
        ("I said no. No. No way.", "I said no. No. No way."),
        ("go go go", "go go go"),
    ],
)
def test_repetition_loops_are_cut_and_real_text_is_kept(decoded, expected):
    assert cut_repetitions(decoded) == expected
