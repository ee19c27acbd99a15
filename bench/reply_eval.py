"""Is a reply useful? The checks of the reply-quality set (`bench/replies/requests.jsonl`).

Sans-IO: a request and a reply in, a verdict with the names of the failed checks out, so the
rules can be read and tested without a model. A reply passes when every check passes:

- `empty`: it says something; `short`: at least the request's `min_words` words;
- `sentences`: at most two sentences (a voice reply is listened to, not read);
- `must` / `must_not`: each group of expected words has one present (word boundaries, any
  case), and no forbidden word is (for live-data requests: the invented data);
- `refusal`: a request for live data or an action gets an honest "I can't"; a question the
  agent can answer (a fact, a follow-up) does not get one;
- `leak`: no word of the prompt's own example topics that neither the caller nor the expected
  answer brought up, and no run of five words copied from an example reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voice.errors import VoiceError
from voice.providers.base import DialogueTurn
from voice.providers.prompts import PromptSet

REFUSAL_MARKERS = (
    "can't", "cannot", "can not", "unable", "don't have", "do not have", "not able",
    "no access", "isn't something i can", "i'm not able", "no live", "don't know",
)  # fmt: skip
KINDS = ("fact", "smalltalk", "cannot", "followup", "question_end")
COPIED_RUN = 5  # words in a row taken from an example reply that make a leak


@dataclass(frozen=True)
class Request:
    id: str
    kind: str
    text: str
    must: tuple[tuple[str, ...], ...] = ()
    must_not: tuple[str, ...] = ()
    refusal: bool = False
    min_words: int = 3
    audio: bool = False
    history: tuple[DialogueTurn, ...] = field(default_factory=tuple)


def load_requests(path: Path) -> list[Request]:
    """The set, one JSON object per line; a bad line is a clear error naming it."""
    requests: list[Request] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry: dict[str, Any] = json.loads(line)
            kind = entry["kind"]
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}")
            requests.append(
                Request(
                    id=str(entry["id"]),
                    kind=kind,
                    text=str(entry["text"]),
                    must=tuple(tuple(str(a).lower() for a in group) for group in entry["must"]),
                    must_not=tuple(str(w).lower() for w in entry.get("must_not", [])),
                    refusal=bool(entry.get("refusal", False)),
                    min_words=int(entry.get("min_words", 3)),
                    audio=bool(entry.get("audio", False)),
                    history=tuple(
                        DialogueTurn(str(t["role"]), str(t["text"]))
                        for t in entry.get("history", [])
                    ),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VoiceError(f"{path}:{number}: not a valid request ({exc})") from None
    return requests


def kinds_complete(requests: Sequence[Request]) -> bool:
    """Every kind is in the set, and every refusal request is of kind `cannot`."""
    kinds = {r.kind for r in requests}
    return kinds == set(KINDS) and all(r.refusal == (r.kind == "cannot") for r in requests)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))


def contains(text: str, phrase: str) -> bool:
    """`phrase` in `text` on word boundaries, any case (symbols such as '$' match as such)."""
    if not re.search(r"[a-z0-9]", phrase):
        return phrase in text
    pattern = r"(?<![a-z0-9])" + re.escape(phrase.lower()) + r"(?![a-z0-9])"
    return re.search(pattern, text.lower().replace("’", "'")) is not None


def sentences(text: str) -> int:
    """Spoken sentences: runs ending in . ! or ? (a trailing fragment counts as one)."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+", text.strip()) if _words(p)]
    return len(parts)


def is_refusal(text: str) -> bool:
    return any(contains(text, marker) for marker in REFUSAL_MARKERS)


def leaks(reply: str, said: str, prompt: PromptSet) -> list[str]:
    """Example topics the caller never mentioned, and runs copied from example replies."""
    found = [t for t in prompt.topics if contains(reply, t) and not contains(said, t)]
    words = _words(reply)
    runs = {tuple(words[i : i + COPIED_RUN]) for i in range(len(words) - COPIED_RUN + 1)}
    for turn in prompt.few_shot:
        if turn.role != "assistant":
            continue
        example = _words(turn.text)
        for i in range(len(example) - COPIED_RUN + 1):
            if tuple(example[i : i + COPIED_RUN]) in runs:
                found.append(" ".join(example[i : i + COPIED_RUN]))
                break
    return found


@dataclass
class Verdict:
    failed: list[str]
    detail: list[str]

    @property
    def passed(self) -> bool:
        return not self.failed


def score(request: Request, reply: str, prompt: PromptSet, heard: str | None = None) -> Verdict:
    """Check `reply` against `request` (`heard`: the transcript, for a spoken request)."""
    failed: list[str] = []
    detail: list[str] = []
    words = _words(reply)
    if not words:
        return Verdict(["empty"], ["no reply"])
    if len(words) < request.min_words:
        failed.append("short")
        detail.append(f"{len(words)} words < {request.min_words}")
    if sentences(reply) > 2:
        failed.append("sentences")
        detail.append(f"{sentences(reply)} sentences")
    missing = [group for group in request.must if not any(contains(reply, a) for a in group)]
    if missing:
        failed.append("must")
        detail.append("missing " + "; ".join("/".join(group) for group in missing))
    forbidden = [w for w in request.must_not if contains(reply, w)]
    if forbidden:
        failed.append("must_not")
        detail.append("said " + ", ".join(forbidden))
    if request.refusal and not is_refusal(reply):
        failed.append("refusal")
        detail.append("no honest 'I can't'")
    elif request.kind in ("fact", "followup") and is_refusal(reply):
        failed.append("refusal")
        detail.append("refused a question it can answer")
    # the caller's words, and the expected answer's, are the caller's topic, not a leak
    expected = " ".join(a for group in request.must for a in group)
    said = " ".join([request.text, heard or "", expected, *(t.text for t in request.history)])
    leaked = leaks(reply, said, prompt)
    if leaked:
        failed.append("leak")
        detail.append("from the prompt: " + ", ".join(leaked))
    return Verdict(failed, detail)


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Score overall and by kind, and how often each check failed."""
    total = len(rows)
    passed = sum(1 for r in rows if r["passed"])
    by_kind: dict[str, Any] = {}
    for kind in KINDS:
        of_kind = [r for r in rows if r["kind"] == kind]
        if of_kind:
            by_kind[kind] = round(sum(r["passed"] for r in of_kind) / len(of_kind), 3)
    checks: dict[str, int] = {}
    for row in rows:
        for check in row["failed"]:
            checks[check] = checks.get(check, 0) + 1
    return {
        "score": round(passed / total, 3) if total else None,
        "passed": passed,
        "requests": total,
        "by_kind": by_kind,
        "failed_checks": checks,
        "leaks": checks.get("leak", 0),
    }
