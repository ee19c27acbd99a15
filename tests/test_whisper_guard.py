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


def test_a_whole_sentence_said_twice_is_an_echo_not_a_loop():
    """The real weather question with the default 3 s pad: Whisper says the sentence twice and
    ends by itself. That is kept once in one pass, without the 10 s retry."""
    from pathlib import Path

    from voice.config import load_config
    from voice.providers.registry import load_stt
    from voice.talk import load_caller_audio

    corpus = Path(__file__).resolve().parents[1].parent / "shared/corpus/real"
    pcm = load_caller_audio(corpus / "weather-question.wav")[: int(1.96 * 16_000)]
    stt = load_stt(load_config(environ={}))
    result = stt.transcribe_detailed(pcm)  # type: ignore[attr-defined]
    assert result.text == "What is the weather in Paris?"
    assert result.passes == 1, result
    assert stt._echo("What is the weather in Paris? What is the weather in Paris?")  # type: ignore[attr-defined]
    assert not stt._echo("What is the weather in in in Paris Paris Paris")  # type: ignore[attr-defined]
    assert not stt._echo("What is the weather in Paris? What is the weather")  # type: ignore[attr-defined]
