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


def test_an_echo_cut_by_the_cap_is_kept_once_when_the_sentence_covers_the_utterance():
    """The session's own cut of the weather question (from 0.4 s): Whisper says the sentence
    twice and runs into the length cap. One pass, no 10 s retry; a loop that began before the
    utterance was transcribed (too few words for its length) is still retried."""
    from pathlib import Path

    from voice.config import load_config
    from voice.providers.registry import load_stt
    from voice.talk import load_caller_audio

    corpus = Path(__file__).resolve().parents[1].parent / "shared/corpus/real"
    pcm = load_caller_audio(corpus / "weather-question.wav")[int(0.4 * 16_000) : int(1.9 * 16_000)]
    stt = load_stt(load_config(environ={}))
    result = stt.transcribe_detailed(pcm)  # type: ignore[attr-defined]
    assert result.text == "What is the weather in Paris?"
    assert result.passes == 1, result
    echo = stt._echo  # type: ignore[attr-defined]
    capped = "What is the weather in Paris? What is the weather in Paris? What is the"
    assert echo(capped, cut_at_cap_s=1.5)  # 6 words in 1.3 s of speech
    assert not echo(capped, cut_at_cap_s=3.0)  # a second sentence may be lost: retry
    lecture = "That is to say much of political philosophy. That is to say much of political"
    assert not echo(lecture, cut_at_cap_s=4.6)  # the loop: 8 words over 4.6 s
    assert not echo(capped)  # without the cap, an unfinished repeat stays a loop
