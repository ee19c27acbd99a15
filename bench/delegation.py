"""`voice bench voice/delegate/requests --delegation`: how well the decision to delegate holds on
words it was not fitted on, and what it costs.

The decision (voice/delegate/decision.py) is rules plus a classifier fitted on the request sets
(voice/delegate/requests; their README says which sets the rules were written against). Each
set is scored *held out*: the classifier is fitted on the other sets only. The rules cannot be
held out that way, so the report scores them alone too, and names the sets they were fitted on:
on those, only the classifier's share of the score is held out. Every request is scored as
written and as the agent hears it: spoken by the project's Piper voice and transcribed by its
Whisper, so that a recognizer's casing, punctuation and mistakes count. The cost is the
decision's time per request on this machine: it runs before the LLM on every turn.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from voice.delegate.decision import decide, errand_by_rules
from voice.delegate.learned import Request, RequestClassifier, request_sets
from voice.errors import VoiceError

# The sets the rules were written against (voice/delegate/requests/README.md).
RULES_FITTED_ON = ("dev", "heldout", "blind-1", "blind-2", "blind-3", "blind-4")


@dataclass
class Score:
    total: int = 0
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    mistakes: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        said = self.true_positive + self.false_positive
        return self.true_positive / said if said else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0

    def add(self, other: Score) -> None:
        self.total += other.total
        self.true_positive += other.true_positive
        self.false_positive += other.false_positive
        self.false_negative += other.false_negative

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.total,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "true_positive": self.true_positive,
            "false_positive": self.false_positive,
            "false_negative": self.false_negative,
            "mistakes": self.mistakes,
        }


def measure(
    requests: list[Request], delegates: Callable[[str], bool], heard: dict[str, str] | None = None
) -> Score:
    """`delegates` on each request's words, or on what the agent heard (`heard[text]`)."""
    score = Score()
    for request in requests:
        words = request.text if heard is None else heard[request.text]
        delegated = delegates(words)
        score.total += 1
        if delegated and request.delegate:
            score.true_positive += 1
        elif delegated:
            score.false_positive += 1
            score.mistakes.append(f"delegated: {words}")
        elif request.delegate:
            score.false_negative += 1
            score.mistakes.append(f"missed: {words}")
    return score


def held_out(sets: dict[str, list[Request]], name: str) -> Callable[[str], bool]:
    """The decision with its classifier fitted on every set but `name`."""
    classifier = RequestClassifier(r for other, rows in sets.items() if other != name for r in rows)

    def delegates(words: str) -> bool:
        decision = decide(words, classifier)
        return decision is not None and decision.intent == "delegate"

    return delegates


def by_rules(words: str) -> bool:
    return errand_by_rules(words) is not None


def hear(texts: list[str]) -> dict[str, str]:
    """Each text as the agent hears it: spoken by Piper, transcribed by Whisper."""
    import numpy as np

    from voice.audio import SAMPLE_RATE
    from voice.config import load_config
    from voice.providers.registry import load_stt, load_tts
    from voice.talk import spoken

    config = load_config()
    tts, stt = load_tts(config), load_stt(config)
    pause = np.zeros(SAMPLE_RATE // 2, dtype=np.int16)
    return {text: stt.transcribe(np.concatenate([spoken(tts, text), pause])) for text in texts}


def cost_us(requests: list[Request], rounds: int = 20) -> dict[str, float]:
    """Microseconds per decision (the default classifier), over every request."""
    decide("warm up: fit the classifier")
    per_call: list[float] = []
    for _ in range(rounds):
        for request in requests:
            started = time.perf_counter_ns()
            decide(request.text)
            per_call.append((time.perf_counter_ns() - started) / 1000)
    per_call.sort()
    return {
        "p50_us": round(statistics.median(per_call), 1),
        "p99_us": round(per_call[int(len(per_call) * 0.99)], 1),
        "max_us": round(per_call[-1], 1),
    }


def delegation_command(
    folder: Path,
    json_path: Path | None,
    report: Path | None,
    console: Console,
    command: str,
    spoken: bool = True,
) -> dict[str, Any]:
    sets = request_sets(folder)
    if not sets:
        raise VoiceError(f"{folder}: no request set (*.jsonl)")
    everything = [r for rows in sets.values() for r in rows]
    heard = hear([r.text for r in everything]) if spoken else {}
    rows: list[dict[str, Any]] = []
    pooled = {"written": Score(), "spoken": Score()}
    for name, requests in sets.items():
        decision = held_out(sets, name)
        written = measure(requests, decision)
        said = measure(requests, decision, heard) if heard else None
        pooled["written"].add(written)
        if said is not None:
            pooled["spoken"].add(said)
        rows.append(
            {
                "set": name,
                "rules_fitted_on_it": name in RULES_FITTED_ON,
                "long_tasks": sum(r.delegate for r in requests),
                "held_out": written.to_dict(),
                "held_out_spoken": said.to_dict() if said else None,
                "rules_alone": measure(requests, by_rules).to_dict(),
            }
        )
    cost = cost_us(everything)
    result: dict[str, Any] = {
        "command": command,
        "machine": f"{platform.machine()} {platform.python_version()}",
        "sets": rows,
        "pooled": {k: v.to_dict() for k, v in pooled.items() if v.total},
        "heard": heard,
        "cost": cost,
    }
    console.print(_table(result))
    console.print(
        f"cost per decision: p50 {cost['p50_us']} us, p99 {cost['p99_us']} us, "
        f"max {cost['max_us']} us"
    )
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if report is not None:
        report.write_text(_markdown(result), encoding="utf-8")
    return result


def _cells(row: dict[str, Any]) -> list[str]:
    def pr(score: dict[str, Any] | None) -> str:
        return "-" if score is None else f"{score['precision']:.3f} / {score['recall']:.3f}"

    return [
        row["set"] + (" (rules fitted on it)" if row["rules_fitted_on_it"] else ""),
        str(row["held_out"]["requests"]),
        pr(row["held_out"]),
        pr(row["held_out_spoken"]),
        pr(row["rules_alone"]),
    ]


HEADER = ["set", "requests", "held out: P / R", "held out, spoken: P / R", "rules alone: P / R"]


def _table(result: dict[str, Any]) -> Table:
    table = Table(title="delegation decision", header_style="bold")
    for column in HEADER:
        table.add_column(column)
    for row in result["sets"]:
        table.add_row(*_cells(row))
    return table


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# The decision to delegate",
        "",
        f"`{result['command']}` on {result['machine']}. *Held out*: the classifier fitted on",
        "the other sets only; *spoken*: the request spoken by Piper and transcribed by Whisper.",
        "What each set is: voice/delegate/requests/README.md.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in result["sets"]]
    pooled = result["pooled"]
    lines += ["", "Pooled over every set, held out:"]
    for kind, score in pooled.items():
        lines.append(
            f"- {kind}: precision {score['precision']:.3f}, recall {score['recall']:.3f} "
            f"({score['requests']} requests)"
        )
    lines += ["", "Mistakes (held out, as written):", ""]
    for row in result["sets"]:
        for mistake in row["held_out"]["mistakes"]:
            lines.append(f"- {row['set']}: {mistake}")
    cost = result["cost"]
    lines += [
        "",
        f"Cost per decision (it runs before the LLM on every turn): p50 {cost['p50_us']} us, "
        f"p99 {cost['p99_us']} us, max {cost['max_us']} us.",
        "",
    ]
    return "\n".join(lines)
