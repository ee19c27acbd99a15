"""The partial-transcript policy: when partials run, and which words count as stable."""

from voice.audio import SAMPLE_RATE
from voice.providers.stt_partials import PartialPolicy, agreed_prefix

MS = SAMPLE_RATE // 1000


def test_no_partial_before_enough_audio_then_one_every_interval():
    policy = PartialPolicy(every_ms=500, min_audio_ms=700)
    assert policy.push(600 * MS, now_ns=0) is None
    first = policy.push(700 * MS, now_ns=1)
    assert first is not None and first.samples == 700 * MS
    policy.done(first, "what is")
    assert policy.push(1100 * MS, now_ns=2) is None  # only 400 ms of new speech
    second = policy.push(1200 * MS, now_ns=3)
    assert second is not None and second.samples == 1200 * MS


def test_never_two_partials_at_once():
    policy = PartialPolicy(every_ms=100, min_audio_ms=100)
    request = policy.push(1000 * MS, now_ns=0)
    assert request is not None and policy.pending
    assert policy.push(5000 * MS, now_ns=1) is None
    policy.failed(request)
    assert policy.push(5000 * MS, now_ns=2) is not None


def test_stable_words_are_agreed_by_two_partials_less_the_last():
    policy = PartialPolicy(every_ms=100, min_audio_ms=100)
    for samples, text in [
        (2000, "What is the"),
        (4000, "What is the weather"),
        (6000, "What is the weather in Paris?"),
    ]:
        request = policy.push(samples * MS // 10, now_ns=samples)
        assert request is not None
        policy.done(request, text)
    assert policy.latest == "What is the weather in Paris?"
    # agreed: "What is the weather" -> hold back "weather" (it may still grow)
    assert policy.stable == "What is the"


def test_a_partial_that_changes_its_mind_shrinks_the_stable_words():
    policy = PartialPolicy(every_ms=100, min_audio_ms=100)
    for samples, text in [
        (1000, "I want to book a"),
        (2000, "I want to book a table"),
        (3000, "I went to Bucharest"),
    ]:
        request = policy.push(samples * MS, now_ns=samples)
        assert request is not None
        policy.done(request, text)
    assert policy.stable == ""  # "I" is the only agreed word, and it is held back


def test_results_from_before_a_reset_are_ignored():
    policy = PartialPolicy(every_ms=100, min_audio_ms=100)
    stale = policy.push(1000 * MS, now_ns=0)
    assert stale is not None
    policy.reset()
    policy.done(stale, "old words here")
    assert policy.latest == "" and not policy.pending


def test_agreement_ignores_case_and_punctuation():
    assert agreed_prefix("hello, world and", "Hello world. And more") == "Hello world. And"
