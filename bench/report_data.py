"""Reading a `voice bench --json` results dict for the report, defensively.

The results come from JSON written by several runners (ours and the peers), and any metric may
be null or missing when it does not apply. Every accessor here returns `None` instead of raising,
so that the report renders "n/a" rather than crashing on a partial run. The analysis that both
the HTML and the PNGs need (which run to show per case, how much of TTFA each stage is
responsible for, which stage overran) lives here too, so the two renderings cannot disagree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STAGES: tuple[str, ...] = ("endpoint", "stt", "llm.ttft", "llm.clause", "tts.ttfb", "transport")
STAGE_HELP: dict[str, str] = {
    "endpoint": "EoS → turn committed",
    "stt": "audio to STT → final transcript",
    "llm.ttft": "LLM request → first token",
    "llm.clause": "first token → first speakable clause",
    "tts.ttfb": "clause to TTS → first audio chunk",
    "transport": "→ first frame handed to the transport",
}
DEFAULT_BUDGET_MS = 500.0
OVERLAY_KINDS: tuple[str, ...] = ("barge_in", "backchannel", "noise")
WAIT = "wait"  # critical-path time no stage span covers (gaps between stages)


def num(value: Any) -> float | None:
    """A finite float, or None: JSON nulls, bools and NaNs must never reach a plot or a sum."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def dig(data: Any, *keys: str) -> Any:
    """`data[k1][k2]...`, or None as soon as a level is missing or is not a dict."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def median(values: Iterable[float]) -> float | None:
    """The median, or None for no values (the report shows "n/a" then)."""
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class System:
    """One column of the comparison: our agent or one peer framework."""

    key: str
    label: str
    data: Mapping[str, Any]
    ours: bool = False


def peer_label(key: str) -> str:
    """`pipecat_same_providers` reads better as `pipecat (same providers)` in a table header."""
    if key.endswith("_same_providers"):
        return f"{key.removesuffix('_same_providers')} (same providers)"
    return key.replace("_", " ")


def systems(results: Mapping[str, Any]) -> list[System]:
    """Ours first, then every peer; a peer whose entry is null still gets an all-n/a column."""
    found = [System("ours", "ours", results, ours=True)]
    peers = results.get("peers")
    if isinstance(peers, Mapping):
        for key, data in peers.items():
            found.append(
                System(str(key), peer_label(str(key)), data if isinstance(data, Mapping) else {})
            )
    return found


def budget_total(results: Mapping[str, Any]) -> float:
    """The TTFA budget; the agent's contract is 500 ms when the results do not say."""
    return num(dig(results, "budget", "total_ms")) or DEFAULT_BUDGET_MS


def stage_shares(results: Mapping[str, Any]) -> dict[str, float]:
    """Each stage's share of the budget, for the stages that have one."""
    stages = dig(results, "budget", "stages")
    if not isinstance(stages, Mapping):
        return {}
    shares = {name: num(value) for name, value in stages.items()}
    return {str(name): value for name, value in shares.items() if value is not None}


def cases_of(data: Mapping[str, Any], kinds: tuple[str, ...]) -> list[Mapping[str, Any]]:
    """The well-formed cases of the given kinds (a case without a kind is a turn)."""
    cases = data.get("cases")
    if not isinstance(cases, list):
        return []
    return [c for c in cases if isinstance(c, Mapping) and str(c.get("kind", "turn")) in kinds]


def case_ttfa(case: Mapping[str, Any]) -> float | None:
    """TTFA of one turn. A false cut-off (audio before the end of speech) has none: its
    `first_audio_ms` is negative and is not a latency."""
    return num(case.get("ttfa_ms"))


def ttfa_samples(data: Mapping[str, Any]) -> list[float]:
    """Every measured TTFA of a system's turns, sorted, for the CDF."""
    values = (case_ttfa(c) for c in cases_of(data, ("turn",)))
    return sorted(v for v in values if v is not None)


def has_stage_timings(data: Mapping[str, Any]) -> bool:
    """Whether a system reports any per-stage p50 (peers often expose none)."""
    return any(num(dig(data, "stages_ms", stage, "p50")) is not None for stage in STAGES)


@dataclass(frozen=True)
class Span:
    """One stage's interval, in ms relative to end of user speech (EoS = 0)."""

    stage: str
    start: float
    end: float

    @property
    def ms(self) -> float:
        return self.end - self.start


def spans_of(case: Mapping[str, Any]) -> list[Span]:
    """The case's stage spans in pipeline order; unknown stages follow, malformed ones are dropped.

    A runner may give only two of start/end/ms, so the third is derived when possible.
    """
    raw = case.get("spans")
    if not isinstance(raw, Mapping):
        return []
    order = list(STAGES) + sorted(str(k) for k in raw if k not in STAGES)
    spans = []
    for stage in order:
        item = raw.get(stage)
        if not isinstance(item, Mapping):
            continue
        start, end, ms = num(item.get("start_ms")), num(item.get("end_ms")), num(item.get("ms"))
        if start is None and end is not None and ms is not None:
            start = end - ms
        if end is None and start is not None and ms is not None:
            end = start + ms
        if start is not None and end is not None and end >= start:
            spans.append(Span(stage, start, end))
    return spans


@dataclass(frozen=True)
class TurnView:
    """The run of a turn case that the waterfall shows, plus what the report says about it."""

    case: Mapping[str, Any]
    runs: int
    spans: list[Span]
    ttfa: float | None
    path: list[Span] = field(default_factory=list)  # the critical path (empty without spans)
    blame: str | None = None  # set only when the turn is over budget
    blame_stage: str | None = None

    @property
    def id(self) -> str:
        return str(self.case.get("id", "?"))

    @property
    def contributions(self) -> dict[str, float]:
        """ms of TTFA per stage on the critical path (what each stage actually cost)."""
        return charges(self.path)


def group_by_id(cases: list[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Runs of the same case together, in the order the corpus first lists each case."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for case in cases:
        groups.setdefault(str(case.get("id", "?")), []).append(case)
    return list(groups.values())


def median_run(runs: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The run whose TTFA is the median (lower middle for an even count): a real run, not a blend.

    A run without TTFA is shown only when no run of the case has one.
    """
    timed = sorted((r for r in runs if case_ttfa(r) is not None), key=lambda r: case_ttfa(r) or 0.0)
    return timed[(len(timed) - 1) // 2] if timed else runs[0]


EPS_MS = 1.0  # clock/rounding slack: a span ending this close to another's start "feeds" it


def _blocker(spans: list[Span], t: float) -> tuple[Span, bool] | None:
    """The span that held up whatever started at `t`: (span, True if it ended by then).

    Preferred: the span that ended last at or before `t` (later pipeline stage on a tie). If
    none did, the time just before `t` belongs to a stage still running then (the earliest
    started, e.g. the endpoint wait before any speculation began).
    """
    ended = [s for s in spans if s.start < t and s.end <= t + EPS_MS]
    if ended:
        return max(ended, key=lambda s: (s.end, _order(s.stage))), True
    running = [s for s in spans if s.start < t]
    if running:
        return min(running, key=lambda s: (s.start, _order(s.stage))), False
    return None


def _order(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else len(STAGES)


def critical_path(spans: list[Span], ttfa: float | None) -> list[Span]:
    """The chain of stage segments that TTFA actually waited on, from EoS (0) to first audio.

    Walking back from first audio, each step charges the span that the current one waited for.
    Work that overlapped and finished early (a speculative STT under the endpoint wait, say) is
    off the path and costs nothing; time no stage covers is charged to `wait`. The segments
    tile [0, TTFA] exactly, so their lengths sum to TTFA and can be compared with the budget.
    """
    t = ttfa if ttfa is not None else max((s.end for s in spans), default=0.0)
    left = list(spans)
    path: list[Span] = []
    while t > EPS_MS and left:
        found = _blocker(left, t)
        if found is None:
            break
        span, ended = found
        left.remove(span)
        end = min(span.end, t) if ended else t
        if end < t - EPS_MS:
            path.append(Span(WAIT, end, t))
        start = max(span.start, 0.0)
        if end > start:
            path.append(Span(span.stage, start, end))
        t = min(t, span.start)
    if t > EPS_MS:
        path.append(Span(WAIT, 0.0, t))
    return path[::-1]


def charges(path: list[Span]) -> dict[str, float]:
    """ms of TTFA per stage along the critical path."""
    totals: dict[str, float] = {}
    for segment in path:
        totals[segment.stage] = totals.get(segment.stage, 0.0) + segment.ms
    return totals


def blame(contributions: dict[str, float], shares: dict[str, float]) -> tuple[str, str]:
    """Name what overran, for an over-budget turn: (stage, sentence).

    The culprit is the stage whose critical-path time exceeds its budget share the most; a stage
    that ran long but was hidden under another (off the critical path) is not blamed. Time with
    no stage running (`wait`) has no share, so a long unexplained gap is named as such.
    """
    excess = {stage: ms - shares.get(stage, 0.0) for stage, ms in contributions.items()}
    if not excess:
        return "unknown", "no stage spans to attribute it to"
    stage = max(excess, key=lambda s: excess[s])
    if excess[stage] <= 0:
        stage = max(contributions, key=lambda s: contributions[s])
        return stage, f"{stage} took the most ({contributions[stage]:.0f} ms)"
    if stage == WAIT:
        return stage, f"{excess[stage]:.0f} ms with no stage span running"
    if stage not in shares:
        return stage, f"{stage} took {excess[stage]:.0f} ms with no budget share"
    return stage, f"{stage} +{excess[stage]:.0f} ms over its {shares[stage]:.0f} ms share"


def waterfall_range(views: list[TurnView], budget: float) -> tuple[float, float]:
    """One x-range for every waterfall so turns compare by eye.

    The right edge covers 90% of the turns (and the budget); a rare slow turn runs off the edge
    (drawn with an arrow) instead of squashing every other waterfall into a corner.
    """
    extents = sorted(
        max([s.end for s in v.spans] + ([v.ttfa] if v.ttfa is not None else []))
        for v in views
        if v.spans or v.ttfa is not None
    )
    typical = extents[max(math.ceil(0.9 * len(extents)) - 1, 0)] if extents else 0.0
    right = max(budget * 1.15, typical * 1.05)
    left = max(min([0.0, *(s.start for v in views for s in v.spans)]), -budget)
    return (left - 0.02 * (right - left), right)


@dataclass(frozen=True)
class Piece:
    """A drawable piece of a stage bar: over its share or not, on the critical path or not."""

    start: float
    end: float
    over: bool
    on_path: bool


def bar_pieces(span: Span, path: list[Span], share: float | None) -> list[Piece]:
    """Cut a stage bar where it crosses its share and where it enters or leaves the critical path.

    Both renderers (PNG and SVG) draw these pieces the same way: red when over the share, faded
    when off the critical path, so "what cost us time" stands out from "what ran in parallel".
    """
    split = span.start + share if share is not None else math.inf
    mine = [seg for seg in path if seg.stage == span.stage]
    cuts = {span.start, span.end}
    cuts |= {x for seg in mine for x in (seg.start, seg.end) if span.start < x < span.end}
    if span.start < split < span.end:
        cuts.add(split)
    edges = sorted(cuts)
    pieces: list[Piece] = []
    for a, b in itertools.pairwise(edges):
        mid = (a + b) / 2
        over, on_path = mid > split, any(seg.start <= mid <= seg.end for seg in mine)
        if pieces and (pieces[-1].over, pieces[-1].on_path) == (over, on_path):
            pieces[-1] = Piece(pieces[-1].start, b, over, on_path)
        else:
            pieces.append(Piece(a, b, over, on_path))
    return pieces or [Piece(span.start, span.end, False, False)]


def turn_views(results: Mapping[str, Any]) -> list[TurnView]:
    """One view per turn case of our agent: its median-TTFA run, with attribution."""
    budget, shares = budget_total(results), stage_shares(results)
    views = []
    for runs in group_by_id(cases_of(results, ("turn",))):
        case = median_run(runs)
        spans, ttfa = spans_of(case), case_ttfa(case)
        path = critical_path(spans, ttfa) if spans else []
        over = ttfa is not None and ttfa > budget
        culprit = blame(charges(path), shares) if over else None
        views.append(
            TurnView(
                case,
                len(runs),
                spans,
                ttfa,
                path,
                culprit[1] if culprit else None,
                culprit[0] if culprit else None,
            )
        )
    return views


def mean_contributions(views: list[TurnView]) -> dict[str, float]:
    """Mean critical-path ms per stage over turns that have spans: where TTFA goes on average."""
    with_spans = [v.contributions for v in views if v.contributions]
    if not with_spans:
        return {}
    keys = [s for s in (*STAGES, WAIT) if any(s in c for c in with_spans)]
    keys += sorted({k for c in with_spans for k in c} - set(keys))
    return {k: sum(c.get(k, 0.0) for c in with_spans) / len(with_spans) for k in keys}


def worst_stage(results: Mapping[str, Any]) -> tuple[str, float, float] | None:
    """(stage, p50, share) of the stage whose p50 most exceeds its share; None if none does."""
    shares = stage_shares(results)
    worst: tuple[str, float, float] | None = None
    for stage, share in shares.items():
        p50 = num(dig(results, "stages_ms", stage, "p50"))
        if p50 is not None and p50 > share and (worst is None or p50 - share > worst[1] - worst[2]):
            worst = (stage, p50, share)
    return worst
