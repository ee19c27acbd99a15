"""`voice bench --delegation`: precision and recall of the decision to delegate, and its cost.

The request set (bench/corpus/delegation) has two halves: `dev.jsonl`, which the rules in
voice/delegate/decision.py were written against, and `heldout.jsonl`, written first and kept
apart, so the held-out score says how the rules do on words they were not fitted to. The cost
is the decision's time per request on this machine: it runs before the LLM on every turn.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from voice.delegate.decision import decide
from voice.errors import VoiceError

CORPUS = Path(__file__).resolve().parent / "corpus" / "delegation"
REQUEST_SETS = {"dev": CORPUS / "dev.jsonl", "heldout": CORPUS / "heldout.jsonl"}


@dataclass(frozen=True)
class Request:
    text: str
    delegate: bool
    kind: str


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


def load_requests(path: Path) -> list[Request]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        return [Request(r["text"], bool(r["delegate"]), r.get("kind", "")) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VoiceError(f"{path}: not a delegation request set ({exc})") from None


def measure(requests: list[Request]) -> Score:
    score = Score()
    for request in requests:
        decision = decide(request.text)
        delegated = decision is not None and decision.intent == "delegate"
        score.total += 1
        if delegated and request.delegate:
            score.true_positive += 1
        elif delegated:
            score.false_positive += 1
            score.mistakes.append(f"delegated: {request.text}")
        elif request.delegate:
            score.false_negative += 1
            score.mistakes.append(f"missed: {request.text}")
    return score


def cost_us(requests: list[Request], rounds: int = 200) -> dict[str, float]:
    """Microseconds per decision, over every request, `rounds` times."""
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
    corpus_dir: Path, json_path: Path | None, report: Path | None, console: Console, command: str
) -> dict[str, Any]:
    halves = {name: corpus_dir / path.name for name, path in REQUEST_SETS.items()}
    missing = [str(p) for p in halves.values() if not p.is_file()]
    if missing:
        raise VoiceError(f"{corpus_dir}: missing {', '.join(missing)}")
    requests = {name: load_requests(path) for name, path in halves.items()}
    scores = {name: measure(rows) for name, rows in requests.items()}
    everything = [r for rows in requests.values() for r in rows]
    cost = cost_us(everything)
    table = Table(title="delegation decision", header_style="bold")
    for column in ("set", "requests", "long tasks", "precision", "recall", "mistakes"):
        table.add_column(column)
    for name, score in scores.items():
        table.add_row(
            name,
            str(score.total),
            str(sum(r.delegate for r in requests[name])),
            f"{score.precision:.3f}",
            f"{score.recall:.3f}",
            "; ".join(score.mistakes) or "-",
        )
    console.print(table)
    console.print(
        f"cost per decision: p50 {cost['p50_us']} us, p99 {cost['p99_us']} us, "
        f"max {cost['max_us']} us"
    )
    result = {
        "command": command,
        "machine": f"{platform.machine()} {platform.python_version()}",
        "sets": {name: {"path": str(halves[name]), **s.to_dict()} for name, s in scores.items()},
        "cost": cost,
    }
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if report is not None:
        report.write_text(_markdown(result), encoding="utf-8")
    return result


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# The decision to delegate",
        "",
        f"`{result['command']}` on {result['machine']}.",
        "",
        "| set | requests | precision | recall | mistakes |",
        "|---|---|---|---|---|",
    ]
    for name, score in result["sets"].items():
        mistakes = "; ".join(score["mistakes"]) or "-"
        lines.append(
            f"| {name} | {score['requests']} | {score['precision']:.3f} | {score['recall']:.3f} "
            f"| {mistakes} |"
        )
    cost = result["cost"]
    lines += [
        "",
        f"Cost per decision (it runs before the LLM on every turn): p50 {cost['p50_us']} us, "
        f"p99 {cost['p99_us']} us, max {cost['max_us']} us.",
        "",
    ]
    return "\n".join(lines)
