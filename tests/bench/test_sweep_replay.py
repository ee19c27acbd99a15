"""The endpoint sweep's offline replay waits as the live decision would (bench/sweep.py)."""

from __future__ import annotations

from bench.sweep import Pause, TurnPauses, _wait_ms, replay
from voice.turn_taking.decision import DecisionPolicy

POLICY = DecisionPolicy(detector="words")


def _pause(transcript: str, words: float | None, duration_ms: float | None) -> Pause:
    return Pause(
        eos_s=1.0,
        duration_ms=duration_ms,
        final=duration_ms is None,
        transcript=transcript,
        words=words,
        smart_turn=None,
        words_ready_ms=150.0,
        audio_ready_ms=20.0,
    )


def test_an_empty_transcript_keeps_the_prior_as_live():
    # Live, an empty transcript never reaches the LLM stage: no words evidence, so the wait is
    # the prior's. Scored as evidence it would look like a sure end (the bias alone) and cut in.
    empty = _pause("", None, 700.0)
    assert _wait_ms(POLICY, empty) == POLICY.wait_ms(POLICY.prior)
    turn = TurnPauses("held", "wideband", 3.0, [empty, _pause("Then I left.", 0.6, None)])
    assert replay([turn], POLICY)["false_cutoff_rate"] == 0.0


def test_a_finished_line_is_answered_after_the_minimum_wait_once_its_words_arrive():
    finished = _pause("What is the weather in Paris?", 0.6, None)
    assert _wait_ms(POLICY, finished) == max(finished.words_ready_ms, POLICY.min_wait_ms)


def test_an_unfinished_line_outlasts_its_hold():
    unfinished = _pause("I would like to", 0.001, 900.0)
    assert _wait_ms(POLICY, unfinished) > 900.0
