"""The report's figures, drawn with matplotlib (Agg) and returned as PNG bytes.

The same bytes are embedded (base64) in the HTML and exported as files, so the README images and
the report can never disagree. Figures are built on `matplotlib.figure.Figure` directly rather
than through pyplot, each on its own Agg canvas: no global backend switch, nothing to close,
safe to call from a bench run or a test.

Colour code used everywhere: each stage has its own colour, and red always means "over budget"
(the part of a bar beyond the stage's share, the budget line, an over-budget turn).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bench.report_data import (
    STAGES,
    WAIT,
    System,
    TurnView,
    bar_pieces,
    budget_total,
    dig,
    has_stage_timings,
    mean_contributions,
    num,
    stage_shares,
    systems,
    ttfa_samples,
    turn_views,
    waterfall_range,
)

STAGE_COLORS: dict[str, str] = {
    "endpoint": "#4e79a7",
    "stt": "#76b7b2",
    "llm.ttft": "#59a14f",
    "llm.clause": "#8cd17d",
    "tts.ttfb": "#b07aa1",
    "transport": "#9d7660",
    WAIT: "#d3d3d3",
}
OTHER_COLOR = "#bab0ac"
OVER_COLOR = "#d62728"
AUDIO_COLOR = "#111111"
SYSTEM_COLORS = ("#1f4e9c", "#f28e2b", "#9467bd", "#17becf", "#8c564b", "#7f7f7f", "#bcbd22")
OFF_PATH_ALPHA = 0.3  # work that ran in parallel and did not delay first audio
MAX_PNG_BYTES = 250_000
MAX_WATERFALLS_PNG = 12  # a README image: more turns become unreadable


def stage_color(stage: str) -> str:
    """A stage's colour; stages outside the known six share a neutral grey."""
    return STAGE_COLORS.get(stage, OTHER_COLOR)


def system_styles(found: list[System]) -> dict[str, dict[str, Any]]:
    """Line/bar style per system key: ours is the thick dark-blue line; each peer framework gets
    one colour, solid for its stock run and dashed for its run on our providers. No peer is red,
    which is reserved for "over budget".
    """
    bases: list[str] = []
    styles: dict[str, dict[str, Any]] = {}
    for system in found:
        base = system.key.removesuffix("_same_providers")
        if base not in bases:
            bases.append(base)
        styles[system.key] = {
            "color": SYSTEM_COLORS[bases.index(base) % len(SYSTEM_COLORS)],
            "linewidth": 2.6 if system.ours else 1.6,
            "linestyle": "--" if system.key.endswith("_same_providers") else "-",
        }
    return styles


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """Render to PNG; quantise to a palette if needed so an export stays README-sized."""
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)  # attach an Agg canvas: no global backend (pyplot) involved
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    data = buffer.getvalue()
    if len(data) <= MAX_PNG_BYTES:
        return data
    from PIL import Image  # matplotlib depends on Pillow, so it is always there

    image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=64)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _empty(ax: Axes, message: str) -> None:
    """An axis that says why it is empty instead of a blank box."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def ttfa_cdf_png(results: Mapping[str, Any]) -> bytes:
    """TTFA CDF of ours and every peer on one axis, with the budget as a red vertical line.

    A peer with only summary numbers (no per-turn cases) is drawn as p50/p95 markers.
    """
    budget = budget_total(results)
    fig = Figure(figsize=(9, 4.8), layout="constrained")
    ax = fig.add_subplot()
    plotted, right = False, budget * 1.2
    found = systems(results)
    styles = system_styles(found)
    for system in found:
        style = styles[system.key]
        samples = ttfa_samples(system.data)
        if samples:
            ys = [(i + 1) / len(samples) for i in range(len(samples))]
            ax.step([samples[0], *samples], [0.0, *ys], where="post", label=system.label, **style)
            right, plotted = max(right, samples[-1] * 1.05), True
            continue
        p50, p95 = num(dig(system.data, "ttfa_ms", "p50")), num(dig(system.data, "ttfa_ms", "p95"))
        points = [(x, y) for x, y in ((p50, 0.5), (p95, 0.95)) if x is not None]
        if points:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            ax.plot(xs, ys, "o", color=style["color"], label=f"{system.label} (p50/p95 only)")
            right, plotted = max(right, max(xs) * 1.05), True
    if not plotted:
        fig.set_size_inches(8, 1.6)
        _empty(ax, "no TTFA measured")
        return png_bytes(fig)
    ax.axvline(budget, color=OVER_COLOR, linestyle=":", linewidth=2)
    ax.text(budget, 1.0, f"budget {budget:.0f} ms ", color=OVER_COLOR, ha="right", va="top")
    for level in (0.5, 0.95):
        ax.axhline(level, color="#bbb", linewidth=0.8, zorder=0)
        ax.text(right, level, f"p{level * 100:.0f} ", ha="right", va="bottom", color="#777")
    ax.set_xlim(0, right)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("TTFA: end of user speech → first bot audio frame (ms)")
    ax.set_ylabel("fraction of turns")
    ax.set_title("TTFA distribution (left of the red line = within budget)", loc="left")
    ax.grid(axis="x", color="#eee")
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", frameon=False)
    return png_bytes(fig)


def _breakdown_axis(ax: Axes, views: list[TurnView], budget: float) -> None:
    """One stacked bar: mean critical-path ms per stage, i.e. where our TTFA actually goes."""
    means = mean_contributions(views)
    if not means:
        _empty(ax, "no stage spans: cannot attribute TTFA to stages")
        return
    left = 0.0
    for stage, ms in means.items():
        ax.barh(0, ms, left=left, color=stage_color(stage), edgecolor="white", height=0.6)
        if ms >= 0.07 * max(budget, sum(means.values())):
            ax.text(left + ms / 2, 0, f"{stage}\n{ms:.0f}", ha="center", va="center", fontsize=9)
        left += ms
    ax.legend(
        handles=[Patch(color=stage_color(s), label=f"{s} {ms:.0f}") for s, ms in means.items()],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25),
        ncols=len(means),
        frameon=False,
        fontsize=8.5,
    )
    ax.axvline(budget, color=OVER_COLOR, linestyle=":", linewidth=2)
    ax.set_xlim(0, max(budget, left) * 1.08)
    ax.set_yticks([])
    ax.set_title(
        f"Where our TTFA goes: mean ms each stage adds to the critical path "
        f"(total {left:.0f} ms, budget {budget:.0f} ms)",
        loc="left",
        fontsize=11,
    )


def _stage_bars_axis(ax: Axes, results: Mapping[str, Any]) -> None:
    """Grouped p50 bars (p95 whiskers) per stage; the part of a bar beyond the share is red."""
    shares = stage_shares(results)
    found = systems(results)
    styles = system_styles(found)
    with_data = [
        s
        for s in found
        if any(num(dig(s.data, "stages_ms", st, "p50")) is not None for st in STAGES)
    ]
    if not with_data:
        _empty(ax, "no per-stage timings")
        return
    height = 0.8 / len(with_data)
    for slot, system in enumerate(with_data):
        color = styles[system.key]["color"]
        hatch = "//" if system.key.endswith("_same_providers") else None
        for row, stage in enumerate(STAGES):
            p50 = num(dig(system.data, "stages_ms", stage, "p50"))
            p95 = num(dig(system.data, "stages_ms", stage, "p95"))
            if p50 is None:
                continue
            y = row - 0.4 + height * (slot + 0.5)
            share = shares.get(stage, math.inf)
            ax.barh(y, min(p50, share), height=height * 0.9, color=color, hatch=hatch, ec="white")
            if p50 > share:
                ax.barh(y, p50 - share, left=share, height=height * 0.9, color=OVER_COLOR)
            if p95 is not None and p95 > p50:
                ax.errorbar(p50, y, xerr=[[0.0], [p95 - p50]], color="#333", capsize=3, lw=1)
            label = f"{p50:.0f}" + (f"  (p95 {p95:.0f})" if p95 is not None else "")
            x_label = max(p50, p95 or 0.0) + 4
            ax.text(x_label, y, label, va="center", fontsize=8, color="#333")
    for row, stage in enumerate(STAGES):
        if stage in shares:
            ax.plot([shares[stage]] * 2, [row - 0.45, row + 0.45], color="black", lw=2.2)
    ax.set_yticks(range(len(STAGES)), [f"{s}\nshare {shares.get(s, 0):.0f}" for s in STAGES])
    ax.invert_yaxis()
    ax.set_xlabel("ms (bar = p50, whisker = p95, black tick = budget share, red = over share)")
    ax.grid(axis="x", color="#eee")
    ax.set_axisbelow(True)
    handles = [
        Patch(
            fc=styles[s.key]["color"],
            ec="white",
            hatch="//" if s.key.endswith("_same_providers") else None,
            label=s.label,
        )
        for s in with_data
    ] + [Patch(color=OVER_COLOR, label="over share")]
    ax.legend(handles=handles, loc="lower right", frameon=False, fontsize=9)


def stages_png(results: Mapping[str, Any]) -> bytes:
    """The per-stage figure: where TTFA goes (top), each stage against its share (bottom)."""
    views = turn_views(results)
    if not mean_contributions(views) and not any(
        has_stage_timings(s.data) for s in systems(results)
    ):
        fig = Figure(figsize=(8, 1.6), layout="constrained")
        _empty(fig.add_subplot(), "no per-stage timings in these results")
        return png_bytes(fig)
    n_systems = len(systems(results))
    fig = Figure(figsize=(10, 3.2 + 4.0 + 0.35 * n_systems), layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 3.2 + 0.5 * n_systems])
    _breakdown_axis(top, views, budget_total(results))
    _stage_bars_axis(bottom, results)
    bottom.set_title("Stage latency against its budget share", loc="left", fontsize=11)
    return png_bytes(fig)


def draw_waterfall(
    ax: Axes,
    view: TurnView,
    x_range: tuple[float, float],
    budget: float,
    shares: Mapping[str, float],
) -> None:
    """One turn: a row per stage from start to end (EoS = 0), red past the share, TTFA marker.

    Solid pieces are on the critical path; faded ones ran in parallel and did not delay audio.
    """
    stages = [s.stage for s in view.spans] or list(STAGES)
    right = x_range[1]
    for span in view.spans:
        row = stages.index(span.stage)
        for piece in bar_pieces(span, view.path, shares.get(span.stage)):
            ax.barh(
                row,
                max(piece.end - piece.start, 0.5),
                left=piece.start,
                height=0.72,
                color=OVER_COLOR if piece.over else stage_color(span.stage),
                alpha=1.0 if piece.on_path else OFF_PATH_ALPHA,
                linewidth=0,
            )
        if span.end < x_range[0]:
            continue  # wholly left of the axis (a false cut-off): no label spilling outside
        if span.end <= right:
            ax.text(span.end, row, f" {span.ms:.0f}", va="center", fontsize=9, color="#333")
        else:
            ax.text(right, row, f"→ {span.end:.0f} ", va="center", ha="right", fontsize=9)
    ax.axvline(0, color="#555", lw=1)
    ax.axvline(budget, color=OVER_COLOR, linestyle=":", lw=1.8)
    if view.ttfa is not None:
        x = min(view.ttfa, right)
        ax.axvline(x, color=AUDIO_COLOR, lw=2, linestyle="-" if view.ttfa <= right else "--")
        ax.plot([x], [-0.8], marker="v", color=AUDIO_COLOR, markersize=8, clip_on=False)
    if not view.spans:
        ax.text(0.5, 0.5, "no stage spans", transform=ax.transAxes, ha="center", color="#777")
    ax.set_xlim(*x_range)
    ax.set_yticks(range(len(stages)), stages, fontsize=10)
    ax.set_ylim(len(stages) - 0.5, -0.85)
    ax.tick_params(axis="x", labelsize=10)
    ttfa = "no bot audio" if view.ttfa is None else f"TTFA {view.ttfa:.0f} ms"
    early = num(view.case.get("first_audio_ms"))
    if view.ttfa is None and view.case.get("false_cutoff") and early is not None:
        ttfa = f"false cut-off: answered {-early:.0f} ms before the end of speech"
    title = f"{view.id} · {ttfa}" + (f"\nOVER: {view.blame}" if view.blame else "")
    ax.set_title(title, loc="left", fontsize=11, color=OVER_COLOR if view.blame else "#111")
    if view.blame:
        for side in ax.spines.values():
            side.set_edgecolor(OVER_COLOR)
            side.set_linewidth(2.5)


def _pick_for_png(views: list[TurnView]) -> list[TurnView]:
    """The PNG is for a README: cap the grid, keeping every over-budget turn first."""
    if len(views) <= MAX_WATERFALLS_PNG:
        return views
    over = [v for v in views if v.blame]
    rest = [v for v in views if not v.blame]
    keep = {id(v) for v in (over + rest)[:MAX_WATERFALLS_PNG]}
    return [v for v in views if id(v) in keep]


def waterfall_png(results: Mapping[str, Any]) -> bytes:
    """A grid of our turn waterfalls (median-TTFA run per case) sharing one time axis."""
    views, budget, shares = turn_views(results), budget_total(results), stage_shares(results)
    shown = _pick_for_png(views)
    if not shown:
        fig = Figure(figsize=(8, 2), layout="constrained")
        _empty(fig.add_subplot(), "no turn cases")
        return png_bytes(fig)
    cols = min(2, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig = Figure(figsize=(6.2 * cols, 1.0 + 2.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    x_range = waterfall_range(shown, budget)
    for ax, view in zip(axes.flat, shown, strict=False):
        draw_waterfall(ax, view, x_range, budget, shares)
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_visible(False)
    for col in range(cols):  # the lowest visible panel of each column carries the x axis
        lowest = axes[(len(shown) - 1 - col) // cols, col]
        lowest.tick_params(axis="x", labelbottom=True)
        lowest.set_xlabel("ms after end of user speech", fontsize=10)
    more = len(views) - len(shown)
    fig.suptitle(
        "Per-turn waterfall (median-TTFA run; ms after end of user speech)"
        + (f" — {more} more turns in report.html" if more else ""),
        fontsize=13,
    )
    fig.legend(
        handles=[
            Line2D([], [], color=AUDIO_COLOR, lw=2, label="first bot audio (TTFA)"),
            Line2D([], [], color=OVER_COLOR, ls=":", lw=1.8, label=f"budget {budget:.0f} ms"),
            Patch(color=OVER_COLOR, label="over the stage's budget share"),
            Patch(color=stage_color("llm.ttft"), label="solid: on the critical path"),
            Patch(
                color=stage_color("llm.ttft"),
                alpha=OFF_PATH_ALPHA,
                label="faded: ran in parallel, did not delay audio",
            ),
        ],
        loc="outside lower center",
        ncols=3 if cols == 2 else 1,
        frameon=False,
        fontsize=10,
    )
    return png_bytes(fig)
