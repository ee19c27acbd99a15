"""A synthetic pause corpus for the end-of-turn decision: mid-turn holds and short complete turns.

The hard holds are the ones a VAD cannot tell from an end and a careless semantic model gets
wrong: after "and", "the", "to" or "um"; and after a clause that sounds complete and then goes
on ("Play some music. Something calm for the evening."). Holds last 0.3-1.2 s. Short complete
turns ("Hello world.", "Yes.", "Thanks!") must be answered fast: waiting on them is the cost
side of the trade-off. Cases are rendered by `bench.synth` (same voices, channels and exact
ground truth); a phrase that ends in a full stop is spoken with a final contour, the others
with a continuing one.

Run: `python -m bench.synth_pauses bench/corpus/pauses`.
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
    _check_folder,
    _clear_previous,
    _render_turn,
    _slug,
    draw_degradation,
)
from bench.synth_voices import Speaker, draw_voice
from voice.audio import write_wav

HOLD_GAPS_S = (0.3, 1.2)

# Each tuple is one turn; the speaker pauses between its phrases.
HOLD_TURNS: tuple[tuple[str, ...], ...] = (
    ("I want to book a table for two and", "maybe also a taxi home."),
    ("Can you tell me the", "opening hours of the museum?"),
    ("I need to", "call my brother in the evening."),
    ("Um", "what time is it in Tokyo?"),
    ("So I was thinking um", "maybe we could go to the cinema."),
    ("Play some music.", "Something calm for the evening."),
    ("What is the weather like today?", "And tomorrow in Madrid?"),
    ("Set a timer.", "For twenty minutes."),
    ("Remind me to", "buy some milk and", "pick up the children."),
    ("Find me a hotel in", "Barcelona for the weekend."),
    ("Tell me about the", "history of the Roman empire."),
    ("I would like to order a pizza.", "With mushrooms and olives."),
    ("Call my mother.", "No, call my father."),
    ("How do I", "make a cup of green tea?"),
    ("Send a text to Maria", "and tell her I am running late."),
    ("Turn on the", "kitchen lights."),
    ("What's the", "um", "population of Canada?"),
    ("I need a flight to London", "on Friday morning", "for two people."),
    ("Book me an appointment", "for next week."),
    ("Can you", "read me the news?"),
    ("I'm looking for a restaurant.", "Somewhere with a view."),
    ("Add apples to", "my shopping list."),
    ("The meeting is on", "Tuesday at ten."),
    ("What's the fastest way to", "get to the airport?"),
    ("Translate good morning into", "Italian."),
    ("I was wondering if", "you could help me with my homework."),
    ("Let me think.", "Yes, let's take the earlier train."),
    ("Open the window and", "close the curtains."),
    ("Well", "I think I'd like the blue one."),
    ("My name is Anna and", "I live in Vienna."),
    ("Show me pictures of", "the Eiffel tower at night."),
    ("I'd like to change my", "um", "delivery address."),
    ("Could you play the song", "that was on the radio this morning?"),
    ("How tall is the", "tallest building in the world?"),
    ("I want the", "large pizza with", "extra cheese."),
    ("Move my dentist appointment to", "Thursday."),
    ("Give me a recipe for", "pancakes."),
    ("When does the", "next bus leave?"),
    ("I think", "the answer is seven."),
    ("Can you set the alarm for", "six", "or maybe half past six?"),
    ("Please turn the", "volume down."),
    ("Who won the", "football match last night?"),
    ("I have a question about my", "bill."),
    ("Is it going to", "rain this afternoon?"),
    ("I'm calling because", "my internet is not working."),
    ("Put on the news.", "The one on the radio."),
)

SHORT_TURNS: tuple[str, ...] = (
    "Hello world.",
    "Yes.",
    "Thanks!",
    "No.",
    "Okay, thank you.",
    "Good morning.",
    "Stop.",
    "Hello?",
    "Who are you?",
    "Sounds good.",
    "Thank you very much.",
    "Yes please.",
)


def _spoken(phrases: tuple[str, ...]) -> tuple[str, ...]:
    """Non-final phrases without their own mark get a comma: a continuing contour."""
    return tuple(
        p if i == len(phrases) - 1 or p[-1] in ".?!," else p + "," for i, p in enumerate(phrases)
    )


def plan_pauses(seed: int) -> list[CasePlan]:
    rng = np.random.default_rng([seed, 2])
    plans: list[CasePlan] = []
    for number, phrases in enumerate(HOLD_TURNS, start=1):
        text = " ".join(phrases)
        plans.append(
            CasePlan(
                id=f"turn-{number:02d}-{_slug(phrases[0])[:24].strip('-')}",
                kind="turn",
                text=text,
                spoken=_spoken(phrases),
                voice=draw_voice(rng),
                degradation=draw_degradation(rng, holds=True),
                topic="hold",
            )
        )
    for number, text in enumerate(SHORT_TURNS, start=len(HOLD_TURNS) + 1):
        plans.append(
            CasePlan(
                id=f"turn-{number:02d}-{_slug(text)}",
                kind="turn",
                text=text,
                spoken=(text,),
                voice=draw_voice(rng),
                degradation=draw_degradation(rng, holds=True),
                topic="short",
            )
        )
    return plans


def synth_pause_corpus(out_dir: Path, seed: int = 0) -> Path:
    """Write the pause corpus to `out_dir` (a new, empty or previous synthetic folder)."""
    out_dir = Path(out_dir)
    _check_folder(out_dir)
    speaker = Speaker()
    _clear_previous(out_dir)
    plans = plan_pauses(seed)
    holds = sum(len(p.spoken) - 1 for p in plans)
    marker = {"generator": GENERATOR, "pauses": holds, "seed": seed, "cases": len(plans)}
    (out_dir / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    lines: list[str] = []
    for index, plan in enumerate(plans):
        rng = np.random.default_rng([seed, 11, index])
        pcm, entry = _render_turn(plan, speaker, rng, gaps_s=HOLD_GAPS_S)
        write_wav(out_dir / entry["audio"], pcm)
        lines.append(json.dumps(entry, ensure_ascii=False))
    manifest = out_dir / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"wrote {synth_pause_corpus(args.out_dir, args.seed)}")


if __name__ == "__main__":
    main()
