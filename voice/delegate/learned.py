"""The learned half of the decision to delegate: a text classifier fitted on the request sets.

Word lists and clause shapes (`decision.py`) are precise, but each new set of callers brings
phrasings they miss: on blind sets written apart from the rules their recall was 0.6-0.92. A
linear classifier over character and word n-grams (scikit-learn's TF-IDF and logistic
regression) fitted on every request set in `requests/` generalizes across phrasings instead:
scored on each blind set after fitting on the others, its recall stayed at 0.92-1.0
(`voice bench voice/delegate/requests --delegation`). It is fitted when the agent starts
(well under a second for a few hundred requests), so no fitted model is shipped or pickled,
and it scores a turn with the fitted analyzers, IDF weights and coefficients directly, in
plain Python: scikit-learn's own `predict_proba` costs several milliseconds of checks per
call, which would sit on the event loop in every turn.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

REQUESTS = Path(__file__).resolve().parent / "requests"
THRESHOLD = 0.7  # probability above which the words are a long task


@dataclass(frozen=True)
class Request:
    text: str
    delegate: bool
    kind: str


def load_requests(path: Path) -> list[Request]:
    """One request set (JSON lines: text, delegate, kind)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [Request(r["text"], bool(r["delegate"]), r.get("kind", "")) for r in rows]


def request_sets(folder: Path = REQUESTS) -> dict[str, list[Request]]:
    """Every request set in `folder`, by name (the file's stem)."""
    return {path.stem: load_requests(path) for path in sorted(folder.glob("*.jsonl"))}


@dataclass(frozen=True)
class _Features:
    analyzer: Callable[[str], list[str]]
    index: dict[str, int]
    idf: list[float]
    offset: int  # where this vectorizer's columns start in the coefficients


class RequestClassifier:
    """P(long task | words), fitted on `requests`."""

    def __init__(self, requests: Iterable[Request]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_union

        rows = list(requests)
        vectorizers = [
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        ]
        union = make_union(*vectorizers)
        fitted = LogisticRegression(C=10, max_iter=2000, class_weight="balanced").fit(
            union.fit_transform([r.text for r in rows]), [r.delegate for r in rows]
        )
        self._coefficients = [float(c) for c in fitted.coef_[0]]
        self._intercept = float(fitted.intercept_[0])
        self._features = []
        offset = 0
        for vectorizer in vectorizers:
            vocabulary = {str(term): int(col) for term, col in vectorizer.vocabulary_.items()}
            self._features.append(
                _Features(
                    vectorizer.build_analyzer(),
                    vocabulary,
                    [float(w) for w in vectorizer.idf_],
                    offset,
                )
            )
            offset += len(vocabulary)

    def probability(self, text: str) -> float:
        score = self._intercept
        for features in self._features:
            counts = Counter(features.analyzer(text))
            weights = {
                features.index[term]: (1.0 + math.log(n)) * features.idf[features.index[term]]
                for term, n in counts.items()
                if term in features.index
            }
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            score += sum(
                w / norm * self._coefficients[features.offset + col] for col, w in weights.items()
            )
        return 1.0 / (1.0 + math.exp(-score))


_default: RequestClassifier | None = None


def default_classifier() -> RequestClassifier:
    """The classifier fitted on every request set in `requests/` (fitted once per process)."""
    global _default
    if _default is None:
        _default = RequestClassifier(r for rows in request_sets().values() for r in rows)
    return _default
