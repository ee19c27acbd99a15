"""The fused end-of-turn decision: every transition, driven by synthetic evidence and media time."""

import math

import numpy as np
import pytest

from voice.audio import FRAME_NS, FRAME_SAMPLES
from voice.pipeline.frames import AudioFrame, VADFrame
from voice.turn_taking.cues import lexical_cue
from voice.turn_taking.decision import DecisionPolicy, Evidence, FusedEndOfTurn

T0 = 1_000_000_000
MS = 1_000_000


def frame(i: int, p: float) -> VADFrame:
    return VADFrame(AudioFrame(np.zeros(FRAME_SAMPLES, dtype=np.int16), T0 + i * FRAME_NS), p)


class Driver:
    """Feeds frames one by one; evidence can be injected at a chosen frame."""

    def __init__(self, policy: DecisionPolicy) -> None:
        self.detector = FusedEndOfTurn(policy, speculate_after_ms=60)
        self.i = 0
        self.events: list[tuple[int, object]] = []

    def run(self, probabilities, evidence_at=None):
        evidence_at = evidence_at or {}
        for p in probabilities:
            if self.i in evidence_at:
                self.detector.add_evidence(evidence_at[self.i](self.eos_ns))
            for event in self.detector.push(frame(self.i, p)):
                self.events.append((self.i, event))
            self.i += 1
        return self

    @property
    def eos_ns(self) -> int:
        return self.detector._eos_ns

    def kinds(self):
        return [e.kind for _, e in self.events]

    def ended(self):
        return [(i, e) for i, e in self.events if e.kind == "turn_ended"]


SPEECH = [0.9] * 25  # 500 ms of speech; last voiced frame index 24, eos = end of frame 24


def test_without_evidence_the_turn_waits_as_the_prior_says():
    policy = DecisionPolicy(prior=0.5, threshold=0.9, min_wait_ms=200, hold_scale_ms=250)
    wait = policy.wait_ms(0.5)
    assert wait == pytest.approx(200 + 250 * math.log(9))  # ≈ 749 ms
    d = Driver(policy).run(SPEECH + [0.0] * 60)
    ((_i, ended),) = d.ended()
    silence_ms = (ended.at_ns - ended.eos_ns) / MS
    assert wait <= silence_ms < wait + 20
    assert ended.decision["p_finished"] == 0.5 and "smart_turn" not in ended.decision


def test_confident_evidence_answers_after_the_minimum_wait():
    policy = DecisionPolicy(detector="fused", min_wait_ms=200)
    sure = {28: lambda eos: Evidence(eos, smart_turn=0.99, words=0.99, transcript="Hello there.")}
    d = Driver(policy).run(SPEECH + [0.0] * 60, evidence_at=sure)
    assert d.kinds() == ["speech_started", "paused", "turn_ended"]
    ((_, ended),) = d.ended()
    assert (ended.at_ns - ended.eos_ns) / MS == 200
    assert ended.decision["smart_turn"] == 0.99 and ended.decision["words"] == 0.99
    assert ended.decision["transcript"] == "Hello there."


def test_doubtful_evidence_waits_longer_and_a_resume_keeps_the_turn_open():
    policy = DecisionPolicy(min_wait_ms=200, max_wait_ms=1600)
    doubt = {27: lambda eos: Evidence(eos, smart_turn=0.3, words=0.05, transcript="I want to")}
    # a 700 ms hold: the doubtful pause must not end the turn; speech resumes
    d = Driver(policy).run(SPEECH + [0.0] * 35 + SPEECH, evidence_at=doubt)
    assert d.kinds() == ["speech_started", "paused", "resumed"]
    assert d.ended() == []


def test_a_trailing_conjunction_outweighs_confident_audio():
    policy = DecisionPolicy()
    p_cut, parts = policy.probability(
        Evidence(0, smart_turn=0.95, words=0.5, transcript="Add bread to my order and")
    )
    assert parts["cue"] == "continuing"
    p_done, _ = policy.probability(
        Evidence(0, smart_turn=0.95, words=0.5, transcript="Add bread to my order.")
    )
    assert p_cut < 0.5 < p_done
    assert policy.wait_ms(p_cut) > policy.wait_ms(p_done)


def test_the_wait_never_exceeds_the_maximum():
    policy = DecisionPolicy(max_wait_ms=900)
    assert policy.wait_ms(1e-6) == 900
    d = Driver(policy).run(
        SPEECH + [0.0] * 80,
        evidence_at={28: lambda eos: Evidence(eos, smart_turn=0.01, words=0.001, transcript="um")},
    )
    ((_, ended),) = d.ended()
    assert (ended.at_ns - ended.eos_ns) / MS == 900


def test_evidence_for_an_old_pause_is_ignored():
    policy = DecisionPolicy(min_wait_ms=200)
    d = Driver(policy).run(SPEECH + [0.0] * 5)
    stale_eos = d.eos_ns
    d.run([0.9] * 10)  # the user resumed; a new pause will have a new eos
    d.detector.add_evidence(Evidence(stale_eos, smart_turn=0.99, words=0.99, transcript="x."))
    d.run([0.0] * 20)
    assert d.ended() == []  # 400 ms of silence: the prior's wait (~750 ms) still holds


def test_evidence_arriving_after_the_minimum_wait_ends_the_turn_at_once():
    policy = DecisionPolicy(min_wait_ms=200)
    late = {40: lambda eos: Evidence(eos, smart_turn=0.99, words=0.99, transcript="Yes.")}
    d = Driver(policy).run(SPEECH + [0.0] * 60, evidence_at=late)
    ((i, ended),) = d.ended()
    assert i == 40  # decided on the first frame after the evidence arrived
    assert ended.decision["p_finished"] > 0.99


def test_each_detector_uses_only_its_own_evidence():
    evidence = Evidence(0, smart_turn=0.9, words=0.1, transcript="What is the weather in")
    plain = {"bias": 0.0, "audio_weight": 1.0, "words_weight": 1.0}
    audio_only, parts_a = DecisionPolicy(detector="smart_turn", **plain).probability(evidence)
    words_only, parts_w = DecisionPolicy(detector="words", **plain).probability(evidence)
    assert audio_only == pytest.approx(0.9) and set(parts_a) == {"smart_turn"}
    assert words_only < 0.05 and set(parts_w) == {"words", "cue"}
    assert DecisionPolicy(detector="silence", silence_ms=300).wait_ms(0.99) == 300


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("I'd like to book a table and", "continuing"),
        ("Set an alarm for", "continuing"),
        ("So I was thinking um", "filler"),
        ("What is the weather in Paris?", "question"),
        ("What is this for?", "question"),
        ("Thank you.", "complete_short"),
        ("Book a table near the station.", "none"),
        ("I see,", "trailing_off"),
        ("", "none"),
    ],
)
def test_lexical_cues(text, cue):
    assert lexical_cue(text).name == cue


@pytest.mark.parametrize(
    "text", ["Yes.", "No", "Stop.", "Thank you very much.", "Okay, thank you."]
)
def test_short_complete_turns_get_a_push(text):
    assert lexical_cue(text).name == "complete_short"


def test_a_short_prefix_is_not_complete_short():
    assert lexical_cue("Yes, I want the").name == "continuing"


def test_the_stt_providers_end_of_speech_adds_to_the_words_but_never_decides_alone():
    policy = DecisionPolicy(detector="words", stt_end_log_odds=1.0)
    alone = Evidence(T0, stt_end="speech_final")
    assert policy.probability(alone) == (policy.prior, {})
    words = Evidence(T0, words=0.3, transcript="I want to go home")
    both = Evidence(T0, words=0.3, transcript="I want to go home", stt_end="speech_final")
    p_words, _ = policy.probability(words)
    p_both, parts = policy.probability(both)
    assert parts["stt_end"] == "speech_final"
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert logit(p_both) - logit(p_words) == pytest.approx(1.0)
    assert policy.wait_ms(p_both) < policy.wait_ms(p_words)


def test_the_stt_providers_event_is_merged_with_the_other_evidence_of_the_pause():
    driver = Driver(DecisionPolicy(detector="words")).run([0.9] * 10 + [0.0] * 4)  # paused
    eos = driver.eos_ns
    driver.detector.add_evidence(Evidence(eos, stt_end="utterance_end"))
    driver.detector.add_evidence(Evidence(eos, words=0.5, transcript="Thanks."))
    record = driver.detector.decision_record(80)
    assert record["stt_end"] == "utterance_end" and record["words"] == 0.5


def test_a_turn_aware_stt_confidence_is_fused_like_a_turn_model():
    policy = DecisionPolicy(detector="words", stt_eot_weight=1.0)
    unsure, unsure_parts = policy.probability(Evidence(T0, stt_eot=0.1))
    sure, _ = policy.probability(Evidence(T0, stt_eot=0.95))
    assert unsure_parts == {"stt_eot": 0.1}  # counts alone: Flux hears words and prosody
    assert unsure == pytest.approx(0.1) and sure == pytest.approx(0.95)  # alone: as calibrated
    with_words, _ = policy.probability(
        Evidence(T0, stt_eot=0.95, words=0.5, transcript="What time is it?")
    )
    assert with_words > sure
    assert unsure < policy.threshold < sure
    assert policy.wait_ms(sure) == policy.min_wait_ms < policy.wait_ms(unsure)
    silence = DecisionPolicy(detector="silence")
    assert silence.probability(Evidence(T0, stt_eot=0.9)) == (silence.prior, {})
