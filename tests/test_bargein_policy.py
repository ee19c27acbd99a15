"""The barge-in policy, transition by transition: frames and transcripts in, decisions out.

No models and no sleeping: time is the frames' media time, and the quick STT is a string the
test hands back when the policy asks for one.
"""

from __future__ import annotations

import numpy as np
import pytest

from voice.audio import FRAME_NS, FRAME_SAMPLES
from voice.bargein.heard import heard_text, mark_interrupted
from voice.bargein.policy import (
    BargeInPolicy,
    BargeInSettings,
    Decision,
    classify_words,
    frame_energy_dbfs,
)

LOUD = np.full(FRAME_SAMPLES, 3000, dtype=np.int16)  # about -21 dBFS
QUIET = np.zeros(FRAME_SAMPLES, dtype=np.int16)


class Clock:
    """Feeds 20 ms frames at consecutive media times."""

    def __init__(self, policy: BargeInPolicy) -> None:
        self.policy = policy
        self.t = 1_000_000_000

    def frame(self, probability: float, pcm: np.ndarray = LOUD) -> list[Decision]:
        out = self.policy.push_frame(pcm, probability, self.t)
        self.t += FRAME_NS
        return out

    def voiced(self, ms: int) -> list[Decision]:
        return [d for _ in range(ms // 20) for d in self.frame(0.9)]

    def silent(self, ms: int) -> list[Decision]:
        return [d for _ in range(ms // 20) for d in self.frame(0.02, QUIET)]


def kinds(decisions: list[Decision]) -> list[str]:
    return [d.kind for d in decisions]


def speaking(strategy: str = "pause", **kw: object) -> tuple[BargeInPolicy, Clock]:
    """A policy whose bot is speaking; pauses are unbounded unless a test bounds them. The
    tests pin the transitions at a 40 ms pause run and a quick STT every 160 ms of speech;
    the defaults (20 and 60 ms) only make them come sooner."""
    kw.setdefault("max_pause_ms", 60_000)
    kw.setdefault("pause_after_ms", 40)
    kw.setdefault("stt_every_ms", 160)
    policy = BargeInPolicy(BargeInSettings(strategy=strategy, **kw))  # type: ignore[arg-type]
    policy.bot_started()
    return policy, Clock(policy)


def test_nothing_happens_while_the_bot_is_silent() -> None:
    policy = BargeInPolicy()
    clock = Clock(policy)
    assert clock.voiced(1000) == []
    assert policy.state == "idle"


def test_pause_at_the_first_voiced_frames() -> None:
    policy, clock = speaking()
    assert clock.frame(0.9) == []  # one frame is not yet a run
    decisions = clock.frame(0.9)
    assert kinds(decisions) == ["pause"]
    assert policy.state == "paused"
    assert decisions[0].inputs["voiced_ms"] == 40


def test_a_one_frame_blip_does_not_pause() -> None:
    policy, clock = speaking()
    assert clock.frame(0.9) == []
    assert clock.frame(0.1) == []
    assert clock.frame(0.9) == []
    assert policy.state == "listening"


def test_quiet_frames_never_count_as_voiced_whatever_the_vad_says() -> None:
    policy, clock = speaking()
    faint = np.full(FRAME_SAMPLES, 30, dtype=np.int16)  # about -61 dBFS
    assert [d for _ in range(10) for d in clock.frame(0.99, faint)] == []
    assert policy.state == "listening"


def test_a_snippet_is_transcribed_after_min_speech() -> None:
    _policy, clock = speaking(min_speech_ms=160)
    decisions = clock.voiced(160)
    assert kinds(decisions) == ["pause", "transcribe"]
    snippet = decisions[1].snippet
    assert snippet is not None and len(snippet) == 8 * FRAME_SAMPLES
    assert decisions[1].inputs["final"] is False


def test_words_that_interrupt_confirm_the_interruption() -> None:
    policy, clock = speaking()
    clock.voiced(160)
    decisions = policy.transcript("Wait, stop", clock.t, final=False)
    assert kinds(decisions) == ["interrupt"]
    assert decisions[0].inputs["transcript"] == "Wait, stop"
    assert decisions[0].inputs["words"] == 2
    assert policy.state == "interrupted"
    assert clock.voiced(200) == []  # nothing more until the bot's turn is over


def test_long_speech_interrupts_whatever_the_words() -> None:
    _policy, clock = speaking(confirm_ms=300)
    decisions = clock.voiced(300)
    assert kinds(decisions)[-1] == "interrupt"
    assert "ms of speech" in decisions[-1].reason


def test_a_backchannel_resumes_after_its_transcript() -> None:
    policy, clock = speaking()
    clock.voiced(200)
    policy.transcript("Yeah.", clock.t, final=False)  # backchannel so far: play on, watch
    assert policy.state == "watching"
    decisions = clock.silent(140)
    assert kinds(decisions) == ["transcribe"]
    assert decisions[0].inputs["final"] is True
    decisions = policy.transcript("Yeah.", clock.t, final=True)
    assert kinds(decisions) == ["ignore"]
    assert policy.state == "listening"
    assert policy.resumed == 1


def test_a_backchannel_ending_before_its_transcript_resumes_on_it() -> None:
    policy, clock = speaking()
    decisions = clock.voiced(160) + clock.silent(140)
    assert kinds(decisions) == ["pause", "transcribe"]  # in flight when the speech ended
    decisions = policy.transcript("Mm-hmm.", clock.t, final=False)  # it covered all of it
    assert kinds(decisions) == ["resume"]
    assert decisions[0].reason == "backchannel"
    assert policy.state == "listening"
    assert policy.paused_ms_total > 0


def test_a_partial_transcript_of_ended_speech_asks_for_the_rest() -> None:
    policy, clock = speaking()
    decisions = clock.voiced(200) + clock.silent(140)
    assert kinds(decisions) == ["pause", "transcribe"]  # covered 160 of 200 voiced ms
    decisions = policy.transcript("", clock.t, final=False)
    assert kinds(decisions) == ["transcribe"]
    assert decisions[0].inputs["final"] is True


def test_noise_without_words_resumes() -> None:
    policy, clock = speaking()
    clock.voiced(200)
    policy.transcript("", clock.t, final=False)
    clock.silent(140)
    decisions = policy.transcript("(coughing)", clock.t, final=True)
    assert kinds(decisions) == ["resume"]
    assert decisions[0].reason == "no words (noise)"


def test_a_short_burst_resumes_without_waiting_for_stt() -> None:
    _policy, clock = speaking(min_speech_ms=160)
    decisions = clock.voiced(60) + clock.silent(140)
    assert kinds(decisions) == ["pause", "resume"]
    assert decisions[1].reason == "too short to be an interruption"


def test_an_undecided_pause_interrupts_at_max_pause_by_default() -> None:
    _policy, clock = speaking(max_pause_ms=300, confirm_ms=5000)
    decisions = clock.voiced(400)
    assert kinds(decisions) == ["pause", "transcribe", "interrupt"]
    assert decisions[-1].reason == "paused too long: still speaking"
    assert decisions[-1].inputs["paused_ms"] == 300


def test_an_undecided_pause_can_play_on_and_keep_listening() -> None:
    policy, clock = speaking(max_pause_ms=300, confirm_ms=5000, undecided="resume")
    decisions = clock.voiced(400)
    assert kinds(decisions) == ["pause", "transcribe", "resume"]
    assert decisions[-1].reason == "undecided: play on, keep listening"
    assert policy.state == "watching" and policy.paused_ms_total == 300
    assert kinds(policy.transcript("Stop right there", clock.t, final=False)) == ["interrupt"]


def test_a_pause_over_speech_that_ended_resumes_at_max_pause() -> None:
    _policy, clock = speaking(max_pause_ms=300)
    decisions = clock.voiced(200) + clock.silent(200)  # STT result never comes back
    assert kinds(decisions) == ["pause", "transcribe", "resume"]
    assert decisions[-1].reason == "paused too long: the speech is over"


def test_whisper_phantoms_on_a_short_snippet_do_not_interrupt() -> None:
    policy, clock = speaking()
    clock.voiced(200)
    decisions = policy.transcript("Thank you.", clock.t, final=False)
    assert "interrupt" not in kinds(decisions)


def test_words_in_the_ignore_list_never_interrupt_even_when_custom() -> None:
    policy, clock = speaking(ignore_words=("absolutely", "go on"))
    clock.voiced(200)
    decisions = policy.transcript("Absolutely, go on", clock.t, final=False)
    assert kinds(decisions) == ["resume"]
    policy2, clock2 = speaking(ignore_words=("absolutely",))
    clock2.voiced(200)
    assert kinds(policy2.transcript("Go on", clock2.t, final=False)) == ["interrupt"]


def test_min_words_is_respected() -> None:
    policy, clock = speaking(min_words=3)
    clock.voiced(200)
    assert "interrupt" not in kinds(policy.transcript("Stop now", clock.t, final=False))
    clock.voiced(180)
    assert kinds(policy.transcript("Stop now please", clock.t, final=False)) == ["interrupt"]


def test_wait_strategy_never_pauses_and_interrupts_on_evidence() -> None:
    policy, clock = speaking("wait")
    decisions = clock.voiced(160)
    assert kinds(decisions) == ["transcribe"]
    assert policy.state == "watching"
    assert kinds(policy.transcript("Hold on", clock.t, final=False)) == ["interrupt"]


def test_wait_strategy_ignores_a_backchannel_without_pausing() -> None:
    policy, clock = speaking("wait")
    clock.voiced(200)
    policy.transcript("okay", clock.t, final=False)
    clock.silent(140)
    decisions = policy.transcript("Okay.", clock.t, final=True)
    assert kinds(decisions) == ["ignore"]
    assert policy.paused_ms_total == 0


def test_a_protected_reply_defers_instead_of_interrupting() -> None:
    policy = BargeInPolicy()
    policy.bot_started(interruptible=False)
    clock = Clock(policy)
    decisions = clock.voiced(160)
    assert kinds(decisions) == ["transcribe"]  # no pause
    decisions = policy.transcript("What about tomorrow", clock.t, final=False)
    assert kinds(decisions) == ["defer"]
    assert decisions[0].inputs["interruptible"] is False


def test_dropping_waits_for_the_end_of_the_deferred_speech() -> None:
    policy = BargeInPolicy(BargeInSettings())
    policy.bot_started(interruptible=False)
    clock = Clock(policy)
    clock.voiced(200)
    assert kinds(policy.transcript("What about Monday", clock.t, final=False)) == ["defer"]
    assert policy.state == "dropping"
    assert clock.voiced(400) == []  # the same speech goes on: nothing new
    clock.silent(140)
    assert policy.state == "listening"
    assert kinds(clock.voiced(160)) == ["transcribe"]  # the next speech is judged afresh


def test_speech_that_comes_back_is_not_ended() -> None:
    policy, clock = speaking()
    clock.voiced(200)
    clock.silent(140)
    clock.voiced(40)
    decisions = policy.transcript("Yeah.", clock.t, final=False)
    assert kinds(decisions) == ["resume"]
    assert decisions[0].reason == "backchannel so far"
    assert policy.state == "watching"  # not dismissed: the speech is still going


def test_bot_stopped_ends_the_pause_and_resets() -> None:
    policy, clock = speaking()
    clock.voiced(40)
    policy.bot_stopped(clock.t + 100 * 1_000_000)
    assert policy.state == "idle"
    assert policy.paused_ms_total == pytest.approx(100.0)
    assert policy.transcript("stop", clock.t, final=True) == []


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        BargeInSettings(strategy="duck-and-cover")


def test_classify_words_matches_phrases_whole() -> None:
    ignore = ("yeah", "i see", "mm-hmm")
    assert classify_words("Yeah, I see.", ignore) == (["yeah", "i", "see"], [])
    assert classify_words("I said stop", ignore)[1] == ["i", "said", "stop"]
    assert classify_words("[coughing] Mm-hmm", ignore) == (["mm-hmm"], [])


def test_a_partial_transcript_ending_in_the_start_of_a_backchannel_is_not_judged_yet() -> None:
    ignore = ("yeah", "i see", "got it")
    assert classify_words("I", ignore, partial=True) == ([], [])
    assert classify_words("Yeah, got", ignore, partial=True) == (["yeah"], [])
    assert classify_words("I", ignore) == (["i"], ["i"])  # the whole speech: "I" interrupts
    assert classify_words("I want", ignore, partial=True)[1] == ["i", "want"]


def test_i_of_i_see_neither_interrupts_nor_resumes_while_the_caller_speaks() -> None:
    policy, clock = speaking()
    decisions = clock.voiced(160)
    assert kinds(decisions) == ["pause", "transcribe"]
    assert policy.transcript("I", clock.t, final=False) == []
    assert policy.state == "paused"
    assert kinds(clock.voiced(160)) == ["transcribe"]
    assert kinds(policy.transcript("I see", clock.t, final=False)) == ["resume"]


def test_frame_energy() -> None:
    assert frame_energy_dbfs(QUIET) == -120.0
    assert frame_energy_dbfs(LOUD) == pytest.approx(-20.8, abs=0.2)


def test_heard_text_apportions_the_clause_in_play_by_characters() -> None:
    clauses = [("Sure,", 8000), ("the weather in Paris is sunny today.", 32000)]
    assert heard_text(clauses, 0) == ""
    assert heard_text(clauses, 8000) == "Sure,"
    # 21 of 36 characters played: "the weather in" ends at 14, "Paris" at 20.
    assert heard_text(clauses, 8000 + 32000 * 21 // 36) == "Sure, the weather in Paris"
    assert heard_text(clauses, 40000) == "Sure, the weather in Paris is sunny today."
    assert mark_interrupted("Sure, the weather in Paris") == "Sure, the weather in Paris—"


def test_a_late_transcript_of_earlier_speech_is_not_taken_for_the_current_one() -> None:
    policy, clock = speaking()
    first = clock.voiced(160)[1]
    clock.silent(140)  # first speech ends; its STT is still out
    policy.transcript("", clock.t, final=True, speech_ns=first.inputs["speech_ns"])
    assert policy.state == "listening"
    clock.voiced(200)
    assert (
        policy.transcript("Yeah.", clock.t, final=False, speech_ns=first.inputs["speech_ns"]) == []
    )
    assert policy.state == "paused"


def test_unsure_words_neither_interrupt_nor_resume() -> None:
    policy, clock = speaking(min_logprob=-1.45)
    assert kinds(clock.voiced(160)) == ["pause", "transcribe"]
    # Whisper writes a plausible word for a hum: unsure, it is no evidence either way.
    assert policy.transcript("Come", clock.t, final=False, logprob=-1.9) == []
    assert policy.transcript("Okay.", clock.t, final=False, logprob=-1.7) == []
    assert policy.state == "paused"
    decisions = policy.transcript("Sorry", clock.t, final=False, logprob=-0.6)
    assert kinds(decisions) == ["interrupt"]
    assert decisions[0].inputs["logprob"] == -0.6


def test_a_sure_backchannel_resumes_and_an_stt_without_confidence_is_trusted() -> None:
    policy, clock = speaking()
    clock.voiced(160)
    assert kinds(policy.transcript("Okay.", clock.t, final=False, logprob=-0.5)) == ["resume"]
    policy, clock = speaking()
    clock.voiced(160)
    assert kinds(policy.transcript("wait", clock.t, final=False)) == ["interrupt"]


def test_the_quick_stt_is_asked_again_as_the_speech_grows() -> None:
    policy, clock = speaking(stt_every_ms=60)
    assert kinds(clock.voiced(160)) == ["pause", "transcribe"]
    assert policy.transcript("", clock.t, final=False) == []
    assert kinds(clock.voiced(40)) == []
    assert kinds(clock.voiced(20)) == ["transcribe"]  # 60 ms more than the last snippet


def test_a_phantom_word_on_a_short_snippet_is_no_evidence_either_way() -> None:
    policy, clock = speaking()
    clock.voiced(160)
    assert policy.transcript("Thank you.", clock.t, final=False, logprob=-0.3) == []
    assert policy.transcript("you", clock.t, final=False, logprob=-0.3) == []
    assert policy.state == "paused"
