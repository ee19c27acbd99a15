import numpy as np

from voice.audio import FRAME_NS, FRAME_SAMPLES
from voice.pipeline.frames import AudioFrame, VADFrame
from voice.turn_taking.endpointing import SilenceEndOfTurn

T0 = 1_000_000_000


def feed(detector, probabilities):
    """Push frames with the given VAD probabilities; return (frame index, event) pairs."""
    events = []
    for i, p in enumerate(probabilities):
        frame = AudioFrame(np.full(FRAME_SAMPLES, i, dtype=np.int16), T0 + i * FRAME_NS)
        for event in detector.push(VADFrame(frame, p)):
            events.append((i, event))
    return events


def test_speech_then_silence_ends_the_turn_after_the_threshold():
    detector = SilenceEndOfTurn(silence_ms=200, min_speech_ms=60, speculate_after_ms=40)
    probs = [0.0] * 5 + [0.9] * 20 + [0.0] * 20
    events = feed(detector, probs)
    kinds = [(i, e.kind) for i, e in events]
    assert kinds == [(7, "speech_started"), (26, "paused"), (34, "turn_ended")]
    started, paused, ended = (e for _, e in events)
    assert started.at_ns == T0 + 5 * FRAME_NS  # onset is the first voiced frame
    eos = T0 + 25 * FRAME_NS  # end of the last voiced frame
    assert paused.eos_ns == ended.eos_ns == eos
    assert ended.at_ns - eos == 200 * 1_000_000
    # the utterance audio runs from the pre-roll to the last voiced frame
    audio = ended.audio
    assert audio is not None and audio.eos_ns == eos
    assert len(audio.pcm) == 25 * FRAME_SAMPLES
    assert audio.pcm[-1] == 24


def test_a_pause_shorter_than_the_threshold_resumes_the_same_turn():
    detector = SilenceEndOfTurn(silence_ms=200, speculate_after_ms=40)
    probs = [0.9] * 10 + [0.0] * 5 + [0.9] * 10 + [0.0] * 12
    kinds = [e.kind for _, e in feed(detector, probs)]
    assert kinds == ["speech_started", "paused", "resumed", "paused", "turn_ended"]


def test_short_blips_and_noise_do_not_start_a_turn():
    detector = SilenceEndOfTurn(silence_ms=200, min_speech_ms=100)
    probs = ([0.9] * 3 + [0.0] * 5) * 5
    assert feed(detector, probs) == []


def test_hysteresis_keeps_speech_through_a_dip_above_the_release_threshold():
    detector = SilenceEndOfTurn(silence_ms=100, threshold=0.5, speculate_after_ms=20)
    probs = [0.9] * 10 + [0.4] * 10 + [0.0] * 6
    events = feed(detector, probs)
    assert [e.kind for _, e in events] == ["speech_started", "paused", "turn_ended"]
    assert events[-1][1].eos_ns == T0 + 20 * FRAME_NS


def test_detector_is_ready_for_the_next_turn():
    detector = SilenceEndOfTurn(silence_ms=100)
    probs = ([0.9] * 10 + [0.0] * 10) * 2
    kinds = [e.kind for _, e in feed(detector, probs)]
    assert kinds.count("turn_ended") == 2 and kinds.count("speech_started") == 2
