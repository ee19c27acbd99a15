"""A synthetic benchmark corpus whose ground truth is computed, never guessed.

`synth_corpus(out_dir, n, seed)` writes `n` user turns plus about n/8 each of barge-ins,
backchannels and noise bursts (the corpus format of shared/CORPUS.md). Each phrase is
synthesized (through a phone line, for phone cases), cut at its voiced bounds
(`synth_audio.voiced_bounds`) and placed at a known sample offset, so `eos_s`, `holds_s` and
`onset_s` are exact by construction. Background noise at a known SNR is added afterwards and
does not move them.

Everything random flows from `seed`, so the same seed gives the same manifest and audio.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.synth_audio import (
    NOISE_BURSTS,
    at_snr,
    colored_noise,
    limit_peak,
    set_peak,
    telephone,
    to_int16,
    trim_voiced,
)
from bench.synth_text import BACKCHANNELS, BARGE_INS, HOLD_TURNS, SINGLE_TURNS, TurnText
from bench.synth_voices import Speaker, Voice, draw_voice
from voice.audio import SAMPLE_RATE, write_wav
from voice.errors import VoiceError

MARKER = "synth.json"
GENERATOR = "bench.synth"
HOLD_SHARE = 0.35  # share of turns built from several phrases with pauses between them
# Background noise: spectral exponent (1/f**x) and the SNR range drawn from, in dB. Pink
# noise masks the faint ends of words sooner than brown noise (traffic, air conditioning), so
# its range starts higher.
NOISE_TYPES: dict[str, tuple[float, tuple[float, float]]] = {
    "brown": (2.0, (10.0, 30.0)),
    "pink": (1.0, (15.0, 30.0)),
}
# Turns with holds only get mild brown noise: in louder noise Silero keeps "hearing" speech
# 100 ms and more into a pause, so the pause would no longer be where the VAD finds it.
HOLD_NOISE = ("brown", (25.0, 30.0))
_OWN_FILE = re.compile(r"^(turn|barge-in|backchannel|noise)-\d+[-a-z0-9]*\.wav$")


class SynthError(VoiceError, ValueError):
    """The output folder cannot be used (a `ValueError`, and a one-line `VoiceError`)."""


@dataclass(frozen=True)
class Degradation:
    """What the channel does to a case: background noise at an SNR, or a phone line."""

    noise: str | None = None
    snr_db: float | None = None
    telephone: bool = False
    mu_law: bool = False

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if self.noise is not None:
            info.update(noise=self.noise, snr_db=self.snr_db)
        if self.telephone:
            info.update(telephone=True, mu_law=self.mu_law)
        return info


@dataclass(frozen=True)
class CasePlan:
    """Everything random about one case, drawn up front so rendering order does not matter."""

    id: str
    kind: str
    text: str
    spoken: tuple[str, ...] = ()
    voice: Voice | None = None
    degradation: Degradation = field(default_factory=Degradation)
    sound: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class Placed:
    """Phrases laid out on a silent timeline, with the voiced bounds of each phrase."""

    samples: np.ndarray
    spans: list[tuple[int, int]]
    speech_power: float


def synth_corpus(
    out_dir: Path,
    n: int = 40,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a synthetic corpus of `n` turns (+ overlays) to `out_dir`; return the manifest.

    The folder is created; an existing non-empty folder is only reused when it holds a
    previous synthetic corpus (its own files are replaced, nothing else is touched).
    """
    if n < 1:
        raise SynthError(f"n must be at least 1, got {n}")
    if seed < 0:
        raise SynthError(f"seed must be a non-negative integer, got {seed}")
    out_dir = Path(out_dir)
    _check_folder(out_dir)
    speaker = Speaker()  # before anything changes in the folder: espeak-ng may be missing
    _clear_previous(out_dir)
    plans = plan_cases(n, seed)
    marker = {"generator": GENERATOR, "n": n, "seed": seed, "cases": len(plans)}
    (out_dir / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    lines: list[str] = []
    for index, plan in enumerate(plans):
        pcm, entry = render_case(plan, speaker, np.random.default_rng([seed, index]))
        write_wav(out_dir / entry["audio"], pcm)
        lines.append(json.dumps(entry, ensure_ascii=False))
        if progress is not None:
            progress(index + 1, len(plans))
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def _check_folder(out_dir: Path) -> None:
    """Refuse anything but a new folder, an empty one, or a previous synthetic corpus."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not _is_synth_corpus(out_dir):
        raise SynthError(
            f"{out_dir} is not empty and is not a synthetic corpus; choose a new or empty folder"
        )


def _clear_previous(out_dir: Path) -> None:
    """Remove a previous run's files (its marker, manifest and case audio), nothing else."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in out_dir.iterdir():
        if path.name in (MARKER, "manifest.jsonl") or _OWN_FILE.match(path.name):
            path.unlink()


def _is_synth_corpus(folder: Path) -> bool:
    """A previous run left its marker; only then may its files be replaced."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("generator") == GENERATOR


# Planning --------------------------------------------------------------------------------


def plan_cases(n: int, seed: int) -> list[CasePlan]:
    """All cases of a corpus: `n` turns, then max(2, n/8) each of the overlay kinds."""
    rng = np.random.default_rng(seed)
    extra = max(2, round(n / 8))
    return [
        *_plan_turns(n, rng),
        *_plan_barge_ins(extra, rng),
        *_plan_backchannels(extra, rng),
        *_plan_noises(extra, rng),
    ]


def _cycle(pool: tuple[Any, ...], count: int, rng: np.random.Generator) -> list[Any]:
    """`count` items from `pool` in random order, reshuffled each time the pool runs out,
    so texts repeat only when the corpus is larger than the pool."""
    picked: list[Any] = []
    while len(picked) < count:
        picked += [pool[i] for i in rng.permutation(len(pool))]
    return picked[:count]


def draw_degradation(rng: np.random.Generator, holds: bool = False) -> Degradation:
    """Clean 40 %, background noise 35 %, phone line 25 % (half of it μ-law).

    Noise is brown or pink (traffic and room-like), not white hiss, at SNRs where speech
    stays clearly detectable (`NOISE_TYPES`, `HOLD_NOISE` for turns with pauses). Noise and a
    phone line are not combined: band-limited noise hides the pauses the same way.
    """
    roll = rng.random()
    if roll < 0.4:
        return Degradation()
    if roll < 0.75:
        noise, snr_range = HOLD_NOISE if holds else _noise_type(rng)
        return Degradation(noise=noise, snr_db=round(float(rng.uniform(*snr_range)), 1))
    return Degradation(telephone=True, mu_law=bool(rng.random() < 0.5))


def _noise_type(rng: np.random.Generator) -> tuple[str, tuple[float, float]]:
    noise = str(rng.choice(list(NOISE_TYPES)))
    return noise, NOISE_TYPES[noise][1]


def _plan_turns(n: int, rng: np.random.Generator) -> list[CasePlan]:
    holds = round(n * HOLD_SHARE) if n > 1 else 0
    texts: list[TurnText] = _cycle(HOLD_TURNS, holds, rng) + _cycle(SINGLE_TURNS, n - holds, rng)
    plans = []
    for number, index in enumerate(rng.permutation(n), start=1):
        text = texts[index]
        plans.append(
            CasePlan(
                id=f"turn-{number:02d}-{text.topic}",
                kind="turn",
                text=text.transcript,
                spoken=tuple(text.spoken(i) for i in range(len(text.phrases))),
                voice=draw_voice(rng),
                degradation=draw_degradation(rng, holds=len(text.phrases) > 1),
                topic=text.topic,
            )
        )
    return plans


def _plan_barge_ins(count: int, rng: np.random.Generator) -> list[CasePlan]:
    return [
        CasePlan(
            id=f"barge-in-{number:02d}",
            kind="barge_in",
            text=text,
            spoken=(text,),
            voice=draw_voice(rng),
            degradation=draw_degradation(rng),
        )
        for number, text in enumerate(_cycle(BARGE_INS, count, rng), start=1)
    ]


def _plan_backchannels(count: int, rng: np.random.Generator) -> list[CasePlan]:
    return [
        CasePlan(
            id=f"backchannel-{number:02d}-{_slug(transcript)}",
            kind="backchannel",
            text=transcript,
            spoken=(spoken,),
            voice=draw_voice(rng),
            degradation=draw_degradation(rng),
        )
        for number, (transcript, spoken) in enumerate(_cycle(BACKCHANNELS, count, rng), start=1)
    ]


def _plan_noises(count: int, rng: np.random.Generator) -> list[CasePlan]:
    sounds = _cycle(tuple(NOISE_BURSTS), count, rng)
    return [
        CasePlan(id=f"noise-{number:02d}-{sound}", kind="noise", text="", sound=sound)
        for number, sound in enumerate(sounds, start=1)
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Rendering -------------------------------------------------------------------------------


def render_case(
    plan: CasePlan, speaker: Speaker, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    """The case's 16 kHz int16 audio and its manifest entry."""
    if plan.kind == "turn":
        return _render_turn(plan, speaker, rng)
    if plan.kind == "noise":
        return _render_noise(plan, rng)
    return _render_overlay_speech(plan, speaker, rng)


def _samples(rng: np.random.Generator, low_s: float, high_s: float) -> int:
    return round(rng.uniform(low_s, high_s) * SAMPLE_RATE)


def _seconds(samples: int) -> float:
    return round(samples / SAMPLE_RATE, 3)


def _speak(plan: CasePlan, speaker: Speaker, rng: np.random.Generator) -> list[np.ndarray]:
    """Each phrase as it reaches the microphone, cut to its voiced part.

    A phone line is applied before the cut, so the cut (the ground truth) is where the speech
    that survives the line ends: a final "s" above 3.4 kHz is gone on a phone call, and its
    end is no longer the end of what anyone can hear. All phrases share one gain (peak at
    -9..-2 dBFS for the case), so a talker's phrases keep their natural relative loudness.
    """
    assert plan.voice is not None
    phrases = []
    for text in plan.spoken:
        raw = speaker.say(text, plan.voice).astype(np.float64)
        if plan.degradation.telephone:
            raw = telephone(raw, plan.degradation.mu_law)
        phrases.append(trim_voiced(raw))
    peak = max(float(np.max(np.abs(phrase))) for phrase in phrases)
    gain = 32767.0 * 10 ** (rng.uniform(-9.0, -2.0) / 20) / peak
    return [phrase * gain for phrase in phrases]


def place(phrases: list[np.ndarray], lead: int, gaps: list[int], tail: int) -> Placed:
    """Lay phrases on a silent timeline: `lead` samples, phrase, gap, phrase, ..., `tail`."""
    parts: list[np.ndarray] = [np.zeros(lead)]
    spans: list[tuple[int, int]] = []
    cursor = lead
    for index, phrase in enumerate(phrases):
        if index:
            parts.append(np.zeros(gaps[index - 1]))
            cursor += gaps[index - 1]
        parts.append(phrase)
        spans.append((cursor, cursor + len(phrase)))
        cursor += len(phrase)
    parts.append(np.zeros(tail))
    power = float(np.mean(np.square(np.concatenate(phrases))))
    return Placed(np.concatenate(parts), spans, power)


def degrade(placed: Placed, degradation: Degradation, rng: np.random.Generator) -> np.ndarray:
    """Add background noise at the case's SNR (a phone line was applied per phrase)."""
    mix = placed.samples
    if degradation.noise is not None and degradation.snr_db is not None:
        noise = colored_noise(len(mix), NOISE_TYPES[degradation.noise][0], rng)
        mix = mix + at_snr(noise, placed.speech_power, degradation.snr_db)
    return to_int16(limit_peak(mix))


def _meta(plan: CasePlan) -> dict[str, Any]:
    meta: dict[str, Any] = {"generator": GENERATOR}
    if plan.topic is not None:
        meta["topic"] = plan.topic
    if plan.voice is not None:
        meta["voice"] = plan.voice.describe()
    meta["degradation"] = plan.degradation.describe()
    return meta


def _render_turn(
    plan: CasePlan,
    speaker: Speaker,
    rng: np.random.Generator,
    gaps_s: tuple[float, float] = (0.35, 1.0),
) -> tuple[np.ndarray, dict[str, Any]]:
    phrases = _speak(plan, speaker, rng)
    lead = _samples(rng, 0.3, 0.6)
    gaps = [_samples(rng, *gaps_s) for _ in phrases[1:]]
    placed = place(phrases, lead, gaps, tail=_samples(rng, 0.05, 0.1))
    entry = {
        "id": plan.id,
        "audio": f"{plan.id}.wav",
        "kind": "turn",
        "text": plan.text,
        "eos_s": _seconds(placed.spans[-1][1]),
        "holds_s": [_seconds(stop) for _, stop in placed.spans[:-1]],
        "synth": _meta(plan),
    }
    return degrade(placed, plan.degradation, rng), entry


def _render_overlay_speech(
    plan: CasePlan, speaker: Speaker, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, Any]]:
    phrases = _speak(plan, speaker, rng)
    placed = place(phrases, _samples(rng, 0.1, 0.35), [], tail=_samples(rng, 0.05, 0.1))
    entry = _overlay_entry(plan, placed.spans[0][0])
    return degrade(placed, plan.degradation, rng), entry


def _render_noise(plan: CasePlan, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    assert plan.sound is not None
    burst = set_peak(NOISE_BURSTS[plan.sound](rng), rng.uniform(-12.0, -4.0))
    lead = _samples(rng, 0.1, 0.35)
    samples = np.concatenate([np.zeros(lead), burst, np.zeros(_samples(rng, 0.05, 0.1))])
    entry = _overlay_entry(plan, lead)
    entry["synth"]["sound"] = plan.sound
    return to_int16(samples), entry


def _overlay_entry(plan: CasePlan, onset: int) -> dict[str, Any]:
    return {
        "id": plan.id,
        "audio": f"{plan.id}.wav",
        "kind": plan.kind,
        "onset_s": _seconds(onset),
        "text": plan.text,
        "synth": _meta(plan),
    }
