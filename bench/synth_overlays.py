"""A synthetic overlay corpus: barge-ins, backchannels and noises over a long bot answer.

`synth_overlay_corpus(out_dir, barge_ins=30, others=30, seed)` writes one priming turn that
draws a long answer (several seconds of bot audio), then `barge_ins` barge-in clips and
`others` backchannel and noise clips, each with an `after_output_s` (the time into the bot's
answer at which the clip starts) spread over 0.5-2.5 s, so that interruptions land early,
mid-clause and late in the reply. Cases are rendered by `bench.synth` (same voices, channel
degradations and exact onsets); only the mix of kinds and the onsets are new here.

Run: `python -m bench.synth_overlays bench/corpus/overlays`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.synth import (
    GENERATOR,
    MARKER,
    CasePlan,
    Degradation,
    SynthError,
    _check_folder,
    _clear_previous,
    _plan_backchannels,
    _plan_barge_ins,
    _plan_noises,
    render_case,
)
from bench.synth_voices import Speaker, Voice
from voice.audio import write_wav

# A request that draws a long answer (a story runs to the reply's token cap, 8-10 s of audio);
# ends in a vowel so its end of speech is unambiguous. Spoken by Piper at a speed other than
# the agent's: small STT models mishear espeak's accents often enough to spoil the priming.
PRIMING_TEXT = "Please tell me a long story about a dragon"
PRIMING_VOICE = Voice("piper", "en_US-joe-medium", 1.15)
ONSETS_S = (0.5, 1.0, 1.5, 2.0, 2.5)
BACKCHANNEL_SHARE = 0.6  # of the non-interrupting clips; the rest are noises


def plan_overlays(barge_ins: int, others: int, seed: int) -> list[CasePlan]:
    """The priming turn, then the barge-ins, backchannels and noises (clean priming audio)."""
    if barge_ins < 1 or others < 2:
        raise SynthError("an overlay corpus needs at least 1 barge-in and 2 other clips")
    rng = np.random.default_rng([seed, 1])
    backchannels = round(others * BACKCHANNEL_SHARE)
    priming = CasePlan(
        id="turn-01-priming",
        kind="turn",
        text=PRIMING_TEXT,
        spoken=(PRIMING_TEXT,),
        voice=PRIMING_VOICE,
        degradation=Degradation(),
        topic="priming",
    )
    return [
        priming,
        *_plan_barge_ins(barge_ins, rng),
        *_plan_backchannels(backchannels, rng),
        *_plan_noises(others - backchannels, rng),
    ]


def synth_overlay_corpus(
    out_dir: Path, barge_ins: int = 30, others: int = 30, seed: int = 0
) -> Path:
    """Write the overlay corpus to `out_dir` (a new, empty or previous synthetic folder)."""
    out_dir = Path(out_dir)
    _check_folder(out_dir)
    speaker = Speaker()
    _clear_previous(out_dir)
    plans = plan_overlays(barge_ins, others, seed)
    marker = {
        "generator": GENERATOR,
        "overlays": {"barge_ins": barge_ins, "others": others},
        "seed": seed,
        "cases": len(plans),
    }
    (out_dir / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    lines: list[str] = []
    overlay_index = 0
    for index, plan in enumerate(plans):
        pcm, entry = render_case(plan, speaker, np.random.default_rng([seed, 7, index]))
        if plan.kind == "turn":
            entry["holds_s"] = []
        else:
            # Cycle the onsets per kind so each kind sees every onset about equally often.
            entry["after_output_s"] = ONSETS_S[overlay_index % len(ONSETS_S)]
            overlay_index += 1
        write_wav(out_dir / entry["audio"], pcm)
        lines.append(json.dumps(entry, ensure_ascii=False))
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--barge-ins", type=int, default=30)
    parser.add_argument("--others", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    manifest = synth_overlay_corpus(args.out_dir, args.barge_ins, args.others, args.seed)
    print(f"wrote {manifest}")


if __name__ == "__main__":
    main()
