"""The synthetic corpus: its ground truth must be where Silero VAD finds speech boundaries.

`eos_s` and `holds_s` are computed by the generator (phrases cut at their voiced bounds and
placed at known offsets). These tests run the project's Silero VAD over the audio and check
that every end of speech it finds lies within 60 ms of the manifest's, and that it finds no
pause the manifest does not list. They check the committed corpus (bench/corpus/synth) and a
small fresh run, which must also be reproducible from its seed.

How VAD times are read: Silero scores 512-sample windows (32 ms hops; the stream buffers our
20 ms frames into them, so the clip is fed one window at a time). A probability belongs to
the end of its window, and crossings are interpolated between windows. Because a 32 ms grid
is coarse next to a 60 ms tolerance, each clip is scored at four offsets within one hop and
the boundary times are averaged. Silero's probability falls through 0.5 about 70 ms after the
last voiced sample (one window, plus the smoothing of its recurrent state) and rises through
it about 26 ms after the first; these constant lags (medians over ~1,000 synthetic boundaries
of all voices and channels) are subtracted before comparing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bench.corpus import Case, Corpus, load_corpus
from bench.synth import MARKER, SynthError, plan_cases, synth_corpus
from bench.synth_audio import at_snr, colored_noise, mu_law, telephone, voiced_bounds
from voice.audio import SAMPLE_RATE, read_wav

COMMITTED = Path(__file__).resolve().parents[2] / "bench" / "corpus" / "synth"
TOLERANCE_S = 0.06
WINDOW = 512
WINDOW_S = WINDOW / SAMPLE_RATE
PHASES = 4
START, KEEP, MEASURE = 0.5, 0.35, 0.5  # hysteresis as in Silero's own iterator
MIN_PAUSE_S = 0.2  # below this, a dip is not a pause (holds are 0.35 s and longer)
END_LAG_S = 0.07  # Silero's delay in falling through 0.5 after the last voiced sample
START_LAG_S = 0.026  # and in rising through 0.5 after the first
# Faint first sounds ("Hold on", "Sorry") are heard by Silero up to ~100 ms in.
ONSET_LATE_S = 0.12


# Reading Silero --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vad():
    from voice.providers import model_files
    from voice.providers.silero_vad import SileroVAD

    return SileroVAD(model_files.silero_vad_path(), threads=1)


def window_probabilities(vad, pcm: np.ndarray) -> np.ndarray:
    """Silero's probability per 512-sample window, with 1 s of silence appended as the
    harness does after a clip."""
    padded = np.concatenate([pcm, np.zeros(SAMPLE_RATE, dtype=np.int16)])
    stream = vad.new_stream()
    starts = range(0, len(padded) - WINDOW + 1, WINDOW)
    return np.array([stream.probability(padded[i : i + WINDOW]) for i in starts])


def _crossing(probs: np.ndarray, index: int, level: float) -> float:
    """When the probability passes `level` between windows index-1 and index (window-end
    clock, linear interpolation)."""
    before, after = probs[index - 1], probs[index]
    fraction = (before - level) / (before - after) if before != after else 1.0
    return (index + fraction) * WINDOW_S


def speech_segments(probs: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) of each stretch of speech on the window-end clock.

    Speech starts when the probability reaches 0.5 and lasts while it stays at 0.35 or more
    (Silero's iterator uses the same hysteresis); it ends once it has stayed below for
    `MIN_PAUSE_S`. The end is read where the probability last fell through 0.5.
    """
    segments: list[tuple[float, float]] = []
    start: float | None = None
    quiet_since: int | None = None
    for index, probability in enumerate(probs):
        if start is None:
            if probability >= START:
                start = _crossing(probs, index, START) if index else WINDOW_S
            continue
        if probability >= KEEP:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = index
        elif (index - quiet_since) * WINDOW_S >= MIN_PAUSE_S:
            segments.append((start, _last_fall(probs, quiet_since)))
            start, quiet_since = None, None
    if start is not None:
        segments.append((start, len(probs) * WINDOW_S))
    return segments


def _last_fall(probs: np.ndarray, quiet_since: int) -> float:
    index = quiet_since
    while index > 1 and probs[index - 1] < MEASURE:
        index -= 1
    return _crossing(probs, index, MEASURE)


def vad_segments(vad, pcm: np.ndarray) -> list[tuple[float, float]] | None:
    """Speech (start, end) in file time, averaged over `PHASES` offsets within a hop, with
    Silero's lags removed. None when the offsets disagree on the number of segments."""
    runs = []
    for phase in range(PHASES):
        shift = phase * WINDOW // PHASES
        delayed = np.concatenate([np.zeros(shift, dtype=np.int16), pcm])
        segments = speech_segments(window_probabilities(vad, delayed))
        runs.append([(a - shift / SAMPLE_RATE, b - shift / SAMPLE_RATE) for a, b in segments])
    if len({len(run) for run in runs}) != 1 or not runs[0]:
        return None
    mean = np.mean(np.array(runs), axis=0)
    return [(float(start) - START_LAG_S, float(end) - END_LAG_S) for start, end in mean]


def turn_mismatches(vad, case: Case) -> list[str]:
    """Why Silero disagrees with a turn's holds and EoS (empty when it agrees)."""
    expected = [*case.holds_s, case.eos_s]
    found = vad_segments(vad, case.load_pcm())
    if found is None or len(found) != len(expected):
        count = "inconsistent" if found is None else str(len(found))
        return [f"{case.id}: Silero finds {count} speech ends, the manifest {len(expected)}"]
    problems = []
    for index, ((_, end), truth) in enumerate(zip(found, expected, strict=True)):
        if abs(end - truth) > TOLERANCE_S:
            what = "EoS" if index == len(expected) - 1 else f"hold {index + 1}"
            problems.append(f"{case.id}: {what} at {truth:.3f} s, Silero {end:.3f} s")
    return problems


def onset_mismatch(vad, case: Case) -> str | None:
    """Where Silero's first speech starts, against the manifest's onset (averaged over the
    offsets where it hears speech; in "Wait, stop, ..." only the first segment counts).

    A barge-in must be heard at every offset: one that Silero misses could never stop the
    agent. A backchannel may be too short and faint for it (then it cannot cause a false
    barge-in either), but where it is heard, it must start at the onset.
    """
    pcm = case.load_pcm()
    starts = []
    for phase in range(PHASES):
        shift = phase * WINDOW // PHASES
        delayed = np.concatenate([np.zeros(shift, dtype=np.int16), pcm])
        segments = speech_segments(window_probabilities(vad, delayed))
        if segments:
            starts.append(segments[0][0] - shift / SAMPLE_RATE)
        elif case.kind == "barge_in":
            return f"{case.id}: Silero finds no speech"
    if not starts:
        return None
    start = float(np.mean(starts)) - START_LAG_S
    if not case.onset_s - TOLERANCE_S <= start <= case.onset_s + ONSET_LATE_S:
        return f"{case.id}: onset at {case.onset_s:.3f} s, Silero {start:.3f} s"
    return None


def check_turns(vad, corpus: Corpus) -> list[str]:
    return [problem for case in corpus.of_kind("turn") for problem in turn_mismatches(vad, case)]


def check_onsets(vad, corpus: Corpus) -> list[str]:
    problems = [onset_mismatch(vad, case) for case in corpus.of_kind("barge_in", "backchannel")]
    return [problem for problem in problems if problem]


# The committed corpus ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed() -> Corpus:
    return load_corpus(COMMITTED)


def test_committed_corpus_loads_with_enough_cases(committed: Corpus) -> None:
    assert committed.problems == []
    assert len(committed.of_kind("turn")) >= 30
    for kind in ("barge_in", "backchannel", "noise"):
        assert len(committed.of_kind(kind)) >= 2, kind
    marker = json.loads((COMMITTED / MARKER).read_text())
    assert (marker["n"], marker["seed"]) == (32, 0)


def test_committed_corpus_is_small_16k_mono(committed: Corpus) -> None:
    size = sum(path.stat().st_size for path in COMMITTED.iterdir())
    assert size < 8 * 1024 * 1024
    for case in committed.cases:
        clip = read_wav(case.audio)
        assert clip.sample_rate == SAMPLE_RATE, case.id


def test_committed_turns_vary(committed: Corpus) -> None:
    turns = committed.of_kind("turn")
    words = [len(case.text.split()) for case in turns]
    assert min(words) <= 3 and max(words) >= 15
    assert sum(1 for case in turns if case.holds_s) >= 5
    for case in turns:
        duration = read_wav(case.audio).duration_s
        assert 0 < duration - case.eos_s <= 0.1 + 1e-3, case.id  # short trailing silence
        first = case.holds_s[0] if case.holds_s else case.eos_s
        assert first > 0.3, case.id
        assert np.all(np.diff([*case.holds_s, case.eos_s]) > 0.3), case.id  # pause + phrase


def test_committed_noise_bursts_start_at_onset(committed: Corpus) -> None:
    for case in committed.of_kind("noise"):
        pcm = case.load_pcm()
        onset = round(case.onset_s * SAMPLE_RATE)
        rounding = SAMPLE_RATE // 1000  # times are written to the millisecond
        first = int(np.flatnonzero(pcm)[0])
        assert -rounding <= first - onset <= 0.01 * SAMPLE_RATE, case.id
        assert 0.1 <= voiced_span_s(pcm) <= 1.6, case.id


def voiced_span_s(pcm: np.ndarray) -> float:
    start, stop = voiced_bounds(pcm)
    return (stop - start) / SAMPLE_RATE


@pytest.mark.slow
def test_committed_turns_match_silero(vad, committed: Corpus) -> None:
    assert check_turns(vad, committed) == []


@pytest.mark.slow
def test_committed_overlay_onsets_match_silero(vad, committed: Corpus) -> None:
    assert check_onsets(vad, committed) == []


# A fresh run ------------------------------------------------------------------------------


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_fresh_run_is_reproducible_and_matches_silero(vad, tmp_path: Path) -> None:
    out = tmp_path / "synth"
    calls: list[tuple[int, int]] = []
    manifest = synth_corpus(
        out, n=4, seed=7, progress=lambda done, total: calls.append((done, total))
    )
    assert manifest == out / "manifest.jsonl"
    assert calls == [(done, 10) for done in range(1, 11)]  # 4 turns + 2 of each overlay kind
    first = _digest(out)

    (out / "notes.txt").write_text("mine")
    synth_corpus(out, n=4, seed=7)  # over its own previous run: replaced, byte for byte
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    assert _digest(out) == first

    corpus = load_corpus(out)
    assert corpus.problems == []
    assert any(case.holds_s for case in corpus.of_kind("turn"))
    assert check_turns(vad, corpus) == []
    assert check_onsets(vad, corpus) == []


# Folder handling and planning (no synthesis) -----------------------------------------------


def test_refuses_a_folder_that_is_not_a_synth_corpus(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine")
    with pytest.raises(SynthError, match="not a synthetic corpus"):
        synth_corpus(tmp_path, n=2)
    with pytest.raises(ValueError):
        synth_corpus(tmp_path, n=2)
    assert keep.read_text() == "mine"


def test_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n must be"):
        synth_corpus(tmp_path / "a", n=0)
    with pytest.raises(ValueError, match="seed must be"):
        synth_corpus(tmp_path / "b", seed=-1)


def test_plan_is_a_function_of_the_seed() -> None:
    assert plan_cases(32, 0) == plan_cases(32, 0)
    assert plan_cases(32, 0) != plan_cases(32, 1)
    kinds = [plan.kind for plan in plan_cases(32, 0)]
    assert kinds.count("turn") == 32
    assert all(kinds.count(kind) == 4 for kind in ("barge_in", "backchannel", "noise"))
    assert [plan.kind for plan in plan_cases(3, 0)].count("noise") == 2
    ids = [plan.id for plan in plan_cases(100, 3)]
    assert len(ids) == len(set(ids))


# Signal helpers ---------------------------------------------------------------------------


def _tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return 8000.0 * np.sin(2 * np.pi * freq * t)


def test_voiced_bounds_find_the_sound_between_silences() -> None:
    signal = np.concatenate([np.zeros(1600), _tone(440, 0.5), np.zeros(3200)])
    start, stop = voiced_bounds(signal)
    assert abs(start - 1600) <= 80 and abs(stop - 9600) <= 80


def test_noise_is_scaled_to_the_requested_snr() -> None:
    rng = np.random.default_rng(0)
    speech_power = float(np.mean(np.square(_tone(300, 1.0))))
    noise = at_snr(colored_noise(SAMPLE_RATE, 1.0, rng), speech_power, 20.0)
    assert 10 * np.log10(speech_power / np.mean(np.square(noise))) == pytest.approx(20.0)


def test_telephone_keeps_the_voice_band_and_the_timeline() -> None:
    def level(freq: float, companding: bool = False) -> float:
        tone = _tone(freq, 0.5)
        out = telephone(tone, companding)
        assert len(out) == len(tone)
        middle = slice(2000, 6000)
        return float(np.sqrt(np.mean(np.square(out[middle])) / np.mean(np.square(tone[middle]))))

    assert level(1000) == pytest.approx(1.0, abs=0.05)
    assert level(1000, companding=True) == pytest.approx(1.0, abs=0.05)
    assert level(100) < 0.1 and level(6000) < 0.01


def test_mu_law_error_is_relative_to_the_level() -> None:
    samples = np.array([-20000.0, -300.0, 0.0, 50.0, 1000.0, 30000.0])
    error = np.abs(mu_law(samples) - samples)
    assert np.all(error <= 0.05 * np.abs(samples) + 2.0)
