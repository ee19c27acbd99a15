"""`voice bench CORPUS --stage stt`: every STT option on the same segments, WER against latency.

The measuring instrument of `docs/stt.md`. Each `turn` case is cut as the live agent hears it:
from 200 ms before the speech onset (the endpointer's pre-roll, found with the same Silero VAD
at the same threshold) to the ground-truth end of speech `eos_s`. Every option transcribes
the same segments, interleaved segment by segment with the order rotated, so a noisy shared
machine slows all options alike and their ratios hold.

Options are spelled `KIND[:key=value,...]`:

- `ours` — `voice.providers.whisper_stt.WhisperSTT` with `DecodeOptions`; keys `pad`, `win`
  (minimum window, s), `beam`, `rp` (repetition penalty), `ngram` (no-repeat n-gram size),
  `rlp` (1: also retry decodes of low average log-prob),
  `fb` (fallback steps joined by `|`: `full` or a temperature; `none` for no retry), `lp`, `ns`
  (log-prob and no-speech thresholds), `threads`, `ct` (compute type), `model` (`tiny` or a
  CTranslate2 model folder).
- `stock` — `faster_whisper.WhisperModel.transcribe()` on the same model folder, its defaults
  (30 s window, beam 5, temperature fallback), as Pipecat's stock `WhisperSTTService` calls
  it; keys `beam` (1 is LiveKit's choice), `threads`, `model`.

Audio kinds: `wideband` (16 kHz clean), `noisy` (the synth corpus's added noise), `phone`
(its telephone band, with or without μ-law) — and `--variant phone` makes a phone-band copy
of every segment on the fly: 300-3400 Hz band-pass, 8 kHz, G.711 μ-law, back to 16 kHz with
soxr, as the phone paths will deliver it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from bench.corpus import load_corpus
from bench.measure import words
from bench.stt_report import html_table, markdown, table_rows
from voice.audio import FRAME_SAMPLES, SAMPLE_RATE, read_wav, split_frames, to_internal
from voice.turn_taking.endpointing import PRE_ROLL_FRAMES

DEFAULT_OPTIONS = ("stock", "stock:beam=1", "ours:fb=none", "ours")
ONSET_FRAMES = 3  # 60 ms of voiced frames start a turn (turn.min_speech_ms)
SHORT_TURN_S = 5.0


@dataclass
class Segment:
    id: str
    kind: str  # wideband | noisy | phone
    text: str
    pcm: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / SAMPLE_RATE


Transcriber = Callable[[np.ndarray], dict[str, Any]]


def phone_band(pcm: np.ndarray) -> np.ndarray:
    """The audio as a phone call delivers it: 300-3400 Hz, 8 kHz, G.711 μ-law, back to 16 kHz."""
    from bench.synth_audio import telephone, to_int16

    return to_int16(telephone(pcm.astype(np.float64), companding=True))


def speech_onset(pcm: np.ndarray, probability: Callable[[np.ndarray], float]) -> int:
    """Sample index of the first frame of the first 60 ms voiced run (the endpointer's rule)."""
    run = 0
    for index, frame in enumerate(split_frames(pcm)):
        run = run + 1 if probability(frame) >= 0.5 else 0
        if run >= ONSET_FRAMES:
            return (index - ONSET_FRAMES + 1) * FRAME_SAMPLES
    return 0


def segments(
    corpus_dir: Path, variant: str = "orig", only: list[str] | None = None
) -> list[Segment]:
    """Every `turn` case as the live agent hears it: pre-roll + onset → eos_s."""
    from voice.providers import model_files
    from voice.providers.silero_vad import SileroVAD

    corpus = load_corpus(corpus_dir)
    vad = SileroVAD(model_files.silero_vad_path(), threads=1)
    out: list[Segment] = []
    for case in corpus.of_kind("turn"):
        if only and case.id not in only:
            continue
        assert case.eos_s is not None
        whole = to_internal(read_wav(case.audio))
        start = round(case.start_s * SAMPLE_RATE)
        eos = round(case.eos_s * SAMPLE_RATE)
        # The endpointer cuts at a frame boundary after the last voiced frame.
        eos = min(len(whole), start + -(-(eos - start) // FRAME_SAMPLES) * FRAME_SAMPLES)
        onset = start + speech_onset(whole[start:eos], vad.new_stream().probability)
        begin = max(start, onset - PRE_ROLL_FRAMES * FRAME_SAMPLES)
        pcm = whole[begin:eos]
        kind = case.audio_kind
        if variant == "phone":
            pcm, kind = phone_band(pcm), "phone"
        out.append(Segment(case.id, kind, case.text, pcm))
    return out


# -- options -----------------------------------------------------------------------------------


def parse_option(spec: str) -> tuple[str, dict[str, str]]:
    kind, _, rest = spec.partition(":")
    if kind not in ("ours", "stock", "partials"):
        raise ValueError(f"unknown STT option '{spec}' (kinds: ours, stock, partials)")
    params: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"option '{spec}': '{item}' is not key=value")
        params[key.strip()] = value.strip()
    return kind, params


def _model_dir(name: str | None) -> Path:
    from voice.providers import model_files

    if not name or name == "tiny":
        return model_files.whisper_dir()
    path = Path(name)
    if not (path / "model.bin").is_file():
        raise ValueError(f"model '{name}': not a CTranslate2 Whisper folder")
    return path


_models: dict[tuple[str, ...], Any] = {}


def make_transcriber(spec: str) -> Transcriber:
    """A callable pcm → {text, ...signals} for one option spec (models shared by spec)."""
    kind, p = parse_option(spec)
    model_dir = _model_dir(p.get("model"))
    threads = int(p.get("threads", "1"))
    if kind == "stock":
        from faster_whisper import WhisperModel

        key: tuple[str, ...] = ("stock", str(model_dir), str(threads))
        if key not in _models:
            _models[key] = WhisperModel(
                str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads
            )
        stock = _models[key]
        beam = int(p.get("beam", "5"))

        def run_stock(pcm: np.ndarray) -> dict[str, Any]:
            audio = pcm.astype(np.float32) / 32768.0
            parts, _info = stock.transcribe(audio, language="en", beam_size=beam)
            return {"text": " ".join(s.text.strip() for s in parts).strip()}

        return run_stock

    from voice.providers.stt_options import DecodeOptions, parse_fallback
    from voice.providers.whisper_stt import WhisperSTT

    compute = p.get("ct", "int8")
    key = ("ours", str(model_dir), str(threads), compute)
    if key not in _models:
        _models[key] = WhisperSTT(model_dir, threads=threads, compute_type=compute)
    stt: WhisperSTT = _models[key]
    opts = DecodeOptions()
    fields: dict[str, Any] = {}
    names = {"pad": "pad_s", "win": "min_window_s", "rp": "repetition_penalty"}
    names |= {"lpen": "length_penalty"}
    names |= {"lp": "logprob_threshold", "ns": "no_speech_threshold", "nsa": "no_speech_alone"}
    for short, name in names.items():
        if short in p:
            fields[name] = float(p[short])
    if "beam" in p:
        fields["beam_size"] = int(p["beam"])
    if "rlp" in p:
        fields["retry_low_logprob"] = p["rlp"] not in ("0", "false", "no")
    if "ngram" in p:
        fields["no_repeat_ngram_size"] = int(p["ngram"])
    if "fb" in p:
        steps = [] if p["fb"] in ("none", "") else p["fb"].split("|")
        fields["fallback"] = parse_fallback(",".join(steps))
    unknown = set(p) - set(names) - {"beam", "ngram", "rlp", "fb", "threads", "ct", "model"}
    if kind == "partials":
        unknown -= {"every", "prefix"}
    if unknown:
        raise ValueError(f"option '{spec}': unknown keys {sorted(unknown)}")
    opts = replace(opts, **fields)

    def run_ours(pcm: np.ndarray) -> dict[str, Any]:
        result = stt.transcribe_detailed(pcm, options=opts)
        return {
            "text": result.text,
            "avg_logprob": result.avg_logprob,
            "no_speech_prob": result.no_speech_prob,
            "passes": result.passes,
            "dropped": result.dropped,
        }

    if kind == "partials":
        every_ms = int(p.get("every", "500"))
        use_prefix = p.get("prefix", "1") != "0"
        return _partials_transcriber(stt, opts, every_ms, use_prefix)
    return run_ours


def _partials_transcriber(
    stt: Any, opts: Any, every_ms: int, use_prefix: bool
) -> Callable[[np.ndarray], dict[str, Any]]:
    """Replays the utterance in real time with partials every `every_ms` of speech (never two
    at once: a partial that takes 300 ms delays the next), then the final pass at the pause,
    with the partials' stable words as prefix. The caller times the whole call, so the
    partials' own cost is measured here and the final pass's wall time is returned apart."""
    from voice.providers.stt_partials import PartialPolicy, PartialRequest

    def run(pcm: np.ndarray) -> dict[str, Any]:
        policy = PartialPolicy(every_ms=every_ms)
        running: tuple[PartialRequest, str, float] | None = None  # request, text, done at (s)
        cpu_ms = 0.0
        for end in range(FRAME_SAMPLES, len(pcm) + 1, FRAME_SAMPLES):
            now = end / SAMPLE_RATE
            if running is not None and now >= running[2]:
                policy.done(running[0], running[1])
                running = None
            request = policy.push(end, int(now * 1e9))
            if request is None:
                continue
            wall, cpu = time.perf_counter(), time.process_time()
            text = stt.transcribe_partial(pcm[: request.samples])
            cpu_ms += (time.process_time() - cpu) * 1000
            running = (request, text, now + time.perf_counter() - wall)
        if running is not None:  # still running at the pause: the final pass does not wait
            policy.failed(running[0])
        prefix = policy.stable if use_prefix else ""
        wall = time.perf_counter()
        result = stt.transcribe_detailed(pcm, prefix=prefix, options=opts)
        final_ms = (time.perf_counter() - wall) * 1000
        return {
            "text": result.text,
            "avg_logprob": result.avg_logprob,
            "passes": result.passes,
            "final_ms": round(final_ms, 1),
            "partial_cpu_ms": round(cpu_ms, 1),
            "partial_runs": policy.runs,
            "prefix": prefix,
        }

    return run


# -- measuring ---------------------------------------------------------------------------------


def has_loop(hypothesis: str, reference: str) -> bool:
    """A phrase of 3+ words said twice back to back that the reference does not repeat."""
    hyp = words(hypothesis).split()
    ref = " " + words(reference) + " "
    for size in range(3, len(hyp) // 2 + 1):
        for i in range(len(hyp) - 2 * size + 1):
            if hyp[i : i + size] == hyp[i + size : i + 2 * size]:
                twice = " ".join(hyp[i : i + size] * 2)
                if f" {twice} " not in ref:
                    return True
    return False


def _pct(values: list[float]) -> dict[str, Any] | None:
    if not values:
        return None
    array = np.asarray(values)
    return {
        "n": len(values),
        "p50": round(float(np.percentile(array, 50)), 1),
        "p95": round(float(np.percentile(array, 95)), 1),
        "mean": round(float(array.mean()), 1),
    }


def _partial_cost(segs: list[Segment], res: OptionResult) -> float | None:
    """CPU ms the partials spent per second of speech (None for options without partials)."""
    spent = [res.signals[s.id].get("partial_cpu_ms") for s in segs]
    if any(v is None for v in spent):
        return None
    return round(sum(float(v) for v in spent if v is not None) / sum(s.duration_s for s in segs), 1)


def _corpus_wer(pairs: list[tuple[str, str]]) -> float | None:
    pairs = [(words(r), words(h) or "<empty>") for r, h in pairs if words(r)]
    if not pairs:
        return None
    return round(float(jiwer.wer([r for r, _ in pairs], [h for _, h in pairs])), 4)


@dataclass
class OptionResult:
    spec: str
    texts: dict[str, str] = field(default_factory=dict)
    ms: dict[str, list[float]] = field(default_factory=dict)
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)
    signals: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_bench(
    segs: list[Segment],
    specs: list[str],
    runs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Transcribe every segment with every option, `runs` times, interleaved and rotated."""
    transcribers = {spec: make_transcriber(spec) for spec in specs}
    warm = np.zeros(SAMPLE_RATE, dtype=np.int16)
    warm[4000:12000] = (np.sin(np.arange(8000) * 0.05) * 3000).astype(np.int16)
    for fn in transcribers.values():
        fn(warm)
    results = {spec: OptionResult(spec) for spec in specs}
    total, done = len(segs) * runs * len(specs), 0
    for run in range(runs):
        for index, seg in enumerate(segs):
            shift = (index + run) % len(specs)
            for spec in specs[shift:] + specs[:shift]:
                wall, cpu = time.perf_counter(), time.process_time()
                out = transcribers[spec](seg.pcm)
                cpu_ms = (time.process_time() - cpu) * 1000
                wall_ms = (time.perf_counter() - wall) * 1000
                res = results[spec]
                if "final_ms" in out:  # partials: latency after EoS is the final pass only
                    wall_ms = out["final_ms"]
                    cpu_ms -= out["partial_cpu_ms"]
                res.texts[seg.id] = out.pop("text")
                res.signals[seg.id] = out
                res.ms.setdefault(seg.id, []).append(wall_ms)
                res.cpu_ms.setdefault(seg.id, []).append(cpu_ms)
                done += 1
                if progress:
                    progress(done, total)
    return summarize(segs, results, runs)


def summarize(segs: list[Segment], results: dict[str, OptionResult], runs: int) -> dict[str, Any]:
    kinds = sorted({s.kind for s in segs})
    options: dict[str, Any] = {}
    for spec, res in results.items():
        pairs = [(s.text, res.texts[s.id]) for s in segs]
        all_ms = [m for s in segs for m in res.ms[s.id]]
        short_ms = [m for s in segs if s.duration_s <= SHORT_TURN_S for m in res.ms[s.id]]
        options[spec] = {
            "wer": _corpus_wer(pairs),
            "wer_by_kind": {
                k: _corpus_wer([(s.text, res.texts[s.id]) for s in segs if s.kind == k])
                for k in kinds
            },
            "latency_ms": _pct(all_ms),
            "latency_short_ms": _pct(short_ms),
            "cpu_ms": _pct([m for s in segs for m in res.cpu_ms[s.id]]),
            "cpu_short_ms": _pct(
                [m for s in segs if s.duration_s <= SHORT_TURN_S for m in res.cpu_ms[s.id]]
            ),
            "loops": sum(has_loop(res.texts[s.id], s.text) for s in segs),
            "partial_cpu_ms_per_s": _partial_cost(segs, res),
            "empty": sum(not words(res.texts[s.id]) for s in segs),
        }
    cases = [
        {
            "id": s.id,
            "kind": s.kind,
            "duration_s": round(s.duration_s, 2),
            "reference": s.text,
            "results": {
                spec: {
                    "text": res.texts[s.id],
                    "wer": _corpus_wer([(s.text, res.texts[s.id])]),
                    "ms": round(float(np.median(res.ms[s.id])), 1),
                    "cpu_ms": round(float(np.median(res.cpu_ms[s.id])), 1),
                    **res.signals[s.id],
                }
                for spec, res in results.items()
            },
        }
        for s in segs
    ]
    return {
        "stage": "stt",
        "runs": runs,
        "segments": len(segs),
        "kinds": {k: sum(s.kind == k for s in segs) for k in kinds},
        "short_turn_s": SHORT_TURN_S,
        "options": options,
        "cases": cases,
    }


def stt_bench_command(
    corpus_dir: Path,
    specs: list[str],
    runs: int,
    json_path: Path | None,
    report: Path | None,
    variant: str,
    only: list[str] | None,
    console: Any,
    err_console: Any,
    command: str = "",
) -> int:
    """The CLI body: load segments, run, print the table, write JSON and a table file."""
    from rich.progress import Progress
    from rich.table import Table

    if variant not in ("orig", "phone"):
        raise ValueError(f"unknown variant '{variant}' (orig, phone)")
    for spec in specs:
        parse_option(spec)
    segs = segments(corpus_dir, variant, only)
    if not segs:
        raise ValueError(f"{corpus_dir}: no turn cases to transcribe")
    with Progress(console=err_console) as bar:
        task = bar.add_task("transcribing", total=None)
        results = run_bench(segs, specs, runs, lambda d, t: bar.update(task, completed=d, total=t))
    results["corpus"] = str(corpus_dir)
    results["variant"] = variant
    results["command"] = command
    header, rows = table_rows(results)
    table = Table(title=f"STT · {corpus_dir} · {variant}", header_style="bold")
    for name in header:
        table.add_column(name, justify="left" if name == "option" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    title = f"STT options on {corpus_dir} ({variant})"
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        text = (
            markdown(results, title, command)
            if report.suffix == ".md"
            else html_table(results, title, command)
        )
        report.write_text(text, encoding="utf-8")
    return 0


_SPEC_SPLIT = re.compile(r";")


def split_specs(raw: list[str] | None) -> list[str]:
    """`--stt-option` values; each may hold several specs joined by ';'."""
    if not raw:
        return list(DEFAULT_OPTIONS)
    return [s.strip() for item in raw for s in _SPEC_SPLIT.split(item) if s.strip()]
