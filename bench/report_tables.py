"""The report's HTML tables: the ours-vs-peers summary and the overlay (barge-in) cases.

Cells are coloured by the same rule as the figures (red = over budget), so the table can be
read without the charts. Every value from the results passes through `html.escape`, and every
missing metric prints as "n/a" rather than raising.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from bench.report_data import (
    OVERLAY_KINDS,
    STAGE_HELP,
    STAGES,
    System,
    budget_total,
    cases_of,
    dig,
    group_by_id,
    median,
    num,
    stage_shares,
    systems,
)

NA = '<span class="na">n/a</span>'
AUDIO_KINDS = ("wideband", "phone", "noisy")
Cell = tuple[str, str]  # (html, css class)


def fmt_ms(value: Any) -> str:
    """Milliseconds without false precision."""
    ms = num(value)
    return NA if ms is None else f"{ms:.0f}"


def fmt_pct(value: Any) -> str:
    """A rate (0..1) as a percentage."""
    rate = num(value)
    return NA if rate is None else f"{rate * 100:.1f}%"


def _ttfa_cell(system: System, key: str, budget: float) -> Cell:
    value = num(dig(system.data, "ttfa_ms", key))
    return fmt_ms(value), "over" if value is not None and value > budget else ""


def _ratio_cell(ours: System, peer: System, key: str) -> Cell:
    """ours ÷ peer: below 1 means our agent answers sooner."""
    if peer.ours:
        return "—", ""
    mine, theirs = num(dig(ours.data, "ttfa_ms", key)), num(dig(peer.data, "ttfa_ms", key))
    if mine is None or theirs is None or theirs <= 0:
        return NA, ""
    ratio = mine / theirs
    return f"{ratio:.2f}×", "good" if ratio < 1 else "over" if ratio > 1 else ""


def _matched_cell(results: Mapping[str, Any], peer: System, key: str) -> Cell:
    """ours ÷ peer on the turns both answered (the headline: a turn one agent cut off is in
    neither sample), with how many such turns there were."""
    if peer.ours:
        return "—", ""
    value = num(dig(results, "ratios", peer.key, f"matched_ttfa_{key}"))
    n = num(dig(results, "ratios", peer.key, "matched_n"))
    if value is None:
        return NA, ""
    count = f" <small>(n={n:.0f})</small>" if n is not None else ""
    return f"{value:.2f}×{count}", "good" if value < 1 else "over" if value > 1 else ""


def _wer_of(kind: str) -> Callable[[System], Cell]:
    """A cell maker for the WER on one kind of audio (wideband, phone, noisy)."""

    def cell(system: System) -> Cell:
        return fmt_pct(dig(system.data, "wer_by_kind", kind)), ""

    return cell


def _stage_cell(system: System, stage: str, share: float | None) -> Cell:
    """p50 / p95 of a stage; red when the p50 is over its share, amber when only the p95 is."""
    p50 = num(dig(system.data, "stages_ms", stage, "p50"))
    p95 = num(dig(system.data, "stages_ms", stage, "p95"))
    if p50 is None and p95 is None:
        return NA, ""
    css = ""
    if share is not None and p50 is not None and p50 > share:
        css = "over"
    elif share is not None and p95 is not None and p95 > share:
        css = "warn"
    return f"{fmt_ms(p50)} / {fmt_ms(p95)}", css


def _stats_cell(system: System, key: str, parts: tuple[str, ...]) -> Cell:
    values = [fmt_ms(dig(system.data, key, part)) for part in parts]
    if all(v == NA for v in values):
        return NA, ""
    n = num(dig(system.data, key, "n"))
    return " / ".join(values) + (f" <small>(n={n:.0f})</small>" if n is not None else ""), ""


def _row(label: str, budget: str, cells: list[Cell], title: str = "") -> str:
    tds = "".join(
        f'<td class="{css}">{html}</td>' if css else f"<td>{html}</td>" for html, css in cells
    )
    tip = f' title="{escape(title)}"' if title else ""
    return f"<tr><th{tip}>{label}</th><td class=budget>{budget}</td>{tds}</tr>"


def summary_table(results: Mapping[str, Any]) -> str:
    """Every headline metric, ours and each peer side by side, with ratios for TTFA."""
    found = systems(results)
    ours, budget, shares = found[0], budget_total(results), stage_shares(results)

    def each(make: Callable[[System], Cell]) -> list[Cell]:
        return [make(system) for system in found]

    head = "".join(f"<th>{escape(s.label)}</th>" for s in found)
    span = len(found) + 2
    rows = [
        f"<thead><tr><th>metric</th><th>budget</th>{head}</tr></thead><tbody>",
        _row("TTFA p50 (ms)", f"{budget:.0f}", each(lambda s: _ttfa_cell(s, "p50", budget))),
        _row("TTFA p95 (ms)", f"{budget:.0f}", each(lambda s: _ttfa_cell(s, "p95", budget))),
        _row("TTFA mean (ms)", f"{budget:.0f}", each(lambda s: _ttfa_cell(s, "mean", budget))),
        _row("turns timed (n)", "", each(lambda s: (fmt_ms(dig(s.data, "ttfa_ms", "n")), ""))),
        _row(
            "<b>ours ÷ peer, TTFA p50, turns both answered</b>",
            "&lt; 1",
            each(lambda s: _matched_cell(results, s, "p50")),
        ),
        _row(
            "ours ÷ peer, TTFA p95, turns both answered",
            "&lt; 1",
            each(lambda s: _matched_cell(results, s, "p95")),
        ),
        _row(
            "false cut-off rate",
            "",
            each(lambda s: (fmt_pct(s.data.get("false_cutoff_rate")), "")),
        ),
        _row(
            "ours ÷ peer, TTFA p50, all answered turns",
            "&lt; 1",
            each(lambda s: _ratio_cell(ours, s, "p50")),
        ),
        _row(
            "ours ÷ peer, TTFA p95, all answered turns",
            "&lt; 1",
            each(lambda s: _ratio_cell(ours, s, "p95")),
        ),
        f'<tr class=sect><th colspan="{span}">Stages: p50 / p95 (ms) against the stage\'s '
        "share of the budget</th></tr>",
    ]
    for stage in STAGES:
        share = shares.get(stage)
        rows.append(
            _row(
                f"<code>{stage}</code>",
                NA if share is None else f"{share:.0f}",
                [_stage_cell(system, stage, share) for system in found],
                STAGE_HELP[stage],
            )
        )
    rows += [
        f'<tr class=sect><th colspan="{span}">Turn-taking and quality</th></tr>',
        _row(
            "endpoint delay mean / p50 / p95 (ms)",
            "",
            each(lambda s: _stats_cell(s, "endpoint_ms", ("mean", "p50", "p95"))),
        ),
        _row("WER", "", each(lambda s: (fmt_pct(s.data.get("wer")), ""))),
        *[_row(f"WER, {kind} audio", "", each(_wer_of(kind))) for kind in AUDIO_KINDS],
        _row("failed cases (not measured)", "", each(lambda s: (fmt_ms(s.data.get("errors")), ""))),
        _row(
            "barge-in stop p50 / p95 (ms)",
            "",
            each(lambda s: _stats_cell(s, "bargein_stop_ms", ("p50", "p95"))),
        ),
        _row(
            "false barge-in rate",
            "",
            each(lambda s: (fmt_pct(s.data.get("false_bargein_rate")), "")),
        ),
        "</tbody>",
    ]
    return f'<table class="summary">{"".join(rows)}</table>'


def _overlay_cell(kind: str, runs: list[Mapping[str, Any]]) -> Cell:
    """Did the bot do the right thing? Barge-in must stop it; a backchannel or noise must not."""
    if not runs:
        return "—", ""
    stops = [num(r.get("stop_ms")) for r in runs]
    timed = [s for s in stops if s is not None]
    per_run = (
        f" <small>(runs: {', '.join(fmt_ms(s) for s in stops)})</small>" if len(runs) > 1 else ""
    )
    if kind == "barge_in":
        missed = len(runs) - len(timed)
        text = f"stopped in {fmt_ms(median(timed))} ms" if timed else "never stopped"
        if missed and timed:
            text += f", missed {missed}/{len(runs)}"
        return text + per_run, "over" if missed else "good"
    flags = [r.get("false_bargein") for r in runs]
    false_hits = sum(1 for f in flags if f is True)
    if all(f is None for f in flags):
        return NA, ""
    if false_hits:
        return f"false barge-in {false_hits}/{len(runs)}" + per_run, "over"
    return f"kept talking {len(runs)}/{len(runs)}", "good"


EXPECTED = {
    "barge_in": "bot stops",
    "backchannel": "bot keeps talking",
    "noise": "bot keeps talking",
}


def overlay_table(results: Mapping[str, Any]) -> str:
    """One row per overlay case (barge-in, backchannel, noise), one column per system with data."""
    found = [s for s in systems(results) if s.ours or cases_of(s.data, OVERLAY_KINDS)]
    per_system = [
        {str(g[0].get("id", "?")): g for g in group_by_id(cases_of(s.data, OVERLAY_KINDS))}
        for s in found
    ]
    ids: dict[str, str] = {}
    for groups in per_system:
        for case_id, group in groups.items():
            ids.setdefault(case_id, str(group[0].get("kind", "?")))
    if not ids:
        return '<p class="na">No overlay cases (barge-in, backchannel, noise) in these results.</p>'
    head = "".join(f"<th>{escape(s.label)}</th>" for s in found)
    rows = [f"<thead><tr><th>case</th><th>kind</th><th>expected</th>{head}</tr></thead><tbody>"]
    for case_id, kind in ids.items():
        cells = [_overlay_cell(kind, groups.get(case_id, [])) for groups in per_system]
        tds = "".join(f'<td class="{css}">{html}</td>' for html, css in cells)
        rows.append(
            f"<tr><th><code>{escape(case_id)}</code></th><td>{escape(kind)}</td>"
            f"<td>{EXPECTED.get(kind, '')}</td>{tds}</tr>"
        )
    return f'<table class="overlay">{"".join(rows)}</tbody></table>'
