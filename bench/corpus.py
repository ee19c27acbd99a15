"""Reading a benchmark corpus (the format of shared/CORPUS.md): `manifest.jsonl` + audio files.

A bad line never stops the run: each problem (bad JSON, a missing audio file, a slice outside
the file, an unknown kind, a missing field) is reported with its line number and reason, and the
remaining cases still load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice.audio import SAMPLE_RATE, read_wav, to_internal
from voice.errors import AudioInputError

KINDS = ("turn", "barge_in", "backchannel", "noise")
OVERLAY_KINDS = ("barge_in", "backchannel", "noise")


@dataclass(frozen=True)
class Case:
    id: str
    audio: Path
    kind: str
    text: str = ""
    start_s: float = 0.0
    stop_s: float | None = None
    eos_s: float | None = None  # turn: end of user speech, file time
    holds_s: tuple[float, ...] = ()  # turn: starts of mid-turn pauses, file time
    onset_s: float | None = None  # overlay kinds: sound onset, file time
    after_output_s: float | None = None  # overlay kinds: clip start into the agent's audio
    audio_kind: str = "wideband"  # wideband | phone | noisy (or a kind the manifest names)
    line: int = 0

    def load_pcm(self) -> np.ndarray:
        """The case's slice as 16 kHz mono int16."""
        pcm = to_internal(read_wav(self.audio))
        start = round(self.start_s * SAMPLE_RATE)
        stop = len(pcm) if self.stop_s is None else round(self.stop_s * SAMPLE_RATE)
        return pcm[start:stop]

    def rel(self, file_time_s: float) -> float:
        """A file time as seconds from the start of the slice."""
        return file_time_s - self.start_s


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"manifest line {self.line}: {self.reason}"


@dataclass
class Corpus:
    root: Path
    cases: list[Case] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[Case]:
        return [case for case in self.cases if case.kind in kinds]


def _number(entry: dict[str, Any], key: str, required: bool) -> float | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise ValueError(f"'{key}' is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'{key}' must be a number, got {value!r}")
    return float(value)


def audio_kind(entry: dict[str, Any]) -> str:
    """What the audio sounds like, for WER per kind: the optional `audio_kind` field, else the
    degradation a synthetic case records (`synth.degradation`: telephone band or µ-law is
    `phone`, added noise is `noisy`), else `wideband` (clean 16 kHz)."""
    declared = entry.get("audio_kind")
    if declared is not None:
        if not isinstance(declared, str) or not declared.strip():
            raise ValueError("'audio_kind' must be a non-empty string")
        return declared.strip()
    synth = entry.get("synth")
    degradation = synth.get("degradation") if isinstance(synth, dict) else None
    if isinstance(degradation, dict):
        if degradation.get("telephone") or degradation.get("mu_law"):
            return "phone"
        if degradation.get("noise"):
            return "noisy"
    return "wideband"


def _parse(entry: Any, root: Path, line: int) -> Case:
    if not isinstance(entry, dict):
        raise ValueError("a case must be a JSON object")
    for key in ("id", "audio", "kind"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ValueError(f"'{key}' must be a non-empty string")
    kind = entry["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown kind '{kind}' (known: {', '.join(KINDS)})")
    audio = root / entry["audio"]
    if not audio.is_file():
        raise ValueError(f"audio file {entry['audio']} not found")
    start = _number(entry, "start_s", False) or 0.0
    stop = _number(entry, "stop_s", False)
    holds = entry.get("holds_s", [])
    if not isinstance(holds, list) or not all(
        isinstance(h, int | float) and not isinstance(h, bool) for h in holds
    ):
        raise ValueError("'holds_s' must be a list of numbers")
    case = Case(
        id=entry["id"],
        audio=audio,
        kind=kind,
        text=str(entry.get("text", "")),
        start_s=start,
        stop_s=stop,
        eos_s=_number(entry, "eos_s", kind == "turn"),
        holds_s=tuple(float(h) for h in holds),
        onset_s=_number(entry, "onset_s", kind in OVERLAY_KINDS),
        after_output_s=_number(entry, "after_output_s", False),
        audio_kind=audio_kind(entry),
        line=line,
    )
    _check_times(case)
    return case


def _check_times(case: Case) -> None:
    try:
        duration = read_wav(case.audio).duration_s
    except AudioInputError as exc:
        raise ValueError(str(exc)) from None
    stop = duration if case.stop_s is None else case.stop_s
    if case.start_s < 0 or stop > duration + 0.01 or stop <= case.start_s:
        raise ValueError(
            f"slice {case.start_s:.2f}-{stop:.2f} s is outside the file (0-{duration:.2f} s)"
        )
    for name, value in (("eos_s", case.eos_s), ("onset_s", case.onset_s)):
        if value is not None and not case.start_s <= value <= stop:
            raise ValueError(f"{name} {value:.2f} s is outside the slice")


def load_corpus(root: str | Path) -> Corpus:
    root = Path(root)
    manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        raise AudioInputError(f"{root}: no manifest.jsonl (see the corpus format in the docs)")
    corpus = Corpus(root)
    seen: set[str] = set()
    for number, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            case = _parse(json.loads(raw), root, number)
        except json.JSONDecodeError as exc:
            corpus.problems.append(Problem(number, f"not valid JSON ({exc.msg})"))
            continue
        except ValueError as exc:
            corpus.problems.append(Problem(number, str(exc)))
            continue
        if case.id in seen:
            corpus.problems.append(Problem(number, f"duplicate id '{case.id}'"))
            continue
        seen.add(case.id)
        corpus.cases.append(case)
    return corpus
