"""Inline SVG waterfalls for the HTML report.

The HTML shows one waterfall per turn case. Inline SVG keeps them crisp at any zoom, costs a few
hundred bytes each, and lets every bar carry a hover tooltip with its exact start/end, which a
PNG cannot. The geometry and colours follow the matplotlib waterfall (same x-range for every
turn, red past a stage's share, black first-audio marker, red dotted budget line).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape

from bench.report_data import STAGE_HELP, STAGES, TurnView, bar_pieces
from bench.report_plots import AUDIO_COLOR, OFF_PATH_ALPHA, OVER_COLOR, stage_color

WIDTH = 620
LABEL_W = 70
RIGHT_PAD = 34
TOP = 16
ROW_H = 17
BAR_H = 12
AXIS_H = 18


def nice_step(span_ms: float, target: int = 6) -> float:
    """A 1/2/5 x 10^k tick step giving about `target` ticks, so axes read like 0, 100, 200."""
    raw = max(span_ms, 1.0) / target
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


class _Scale:
    """Maps ms (relative to EoS) to SVG x."""

    def __init__(self, left_ms: float, right_ms: float) -> None:
        self.left, self.right = left_ms, right_ms
        self.x0, self.x1 = LABEL_W, WIDTH - RIGHT_PAD

    def __call__(self, ms: float) -> float:
        clamped = min(max(ms, self.left), self.right)
        return self.x0 + (clamped - self.left) / (self.right - self.left) * (self.x1 - self.x0)


def _axis(scale: _Scale, bottom: float, budget: float) -> list[str]:
    """Gridlines and tick labels every nice step; the budget gets its own red label."""
    step = nice_step(scale.right - scale.left, target=9)
    x_budget = scale(budget)
    parts = [
        f'<text x="{x_budget:.1f}" y="{bottom + 12}" class="tick" fill="{OVER_COLOR}" '
        f'style="fill:{OVER_COLOR}">budget {budget:.0f}</text>'
    ]
    tick = math.ceil(scale.left / step) * step
    while tick <= scale.right:
        x = scale(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
        if abs(x - x_budget) > 40:
            parts.append(f'<text x="{x:.1f}" y="{bottom + 12}" class="tick">{tick:.0f}</text>')
        tick += step
    return parts


def _bars(view: TurnView, scale: _Scale, shares: Mapping[str, float], rows: list[str]) -> list[str]:
    """One bar per stage; the part beyond the stage's budget share is drawn red."""
    parts = []
    for span in view.spans:
        y = TOP + rows.index(span.stage) * ROW_H + (ROW_H - BAR_H) / 2
        share = shares.get(span.stage)
        tip = (
            f"{span.stage}: {span.start:.0f} → {span.end:.0f} ms ({span.ms:.0f} ms"
            + (f", share {share:.0f} ms" if share is not None else "")
            + f", {view.contributions.get(span.stage, 0.0):.0f} ms on the critical path). "
            + STAGE_HELP.get(span.stage, "")
        )
        parts.append(f"<g><title>{escape(tip)}</title>")
        for piece in bar_pieces(span, view.path, share):
            x_a, x_b = scale(piece.start), scale(piece.end)
            color = OVER_COLOR if piece.over else stage_color(span.stage)
            opacity = "" if piece.on_path else f' fill-opacity="{OFF_PATH_ALPHA}"'
            parts.append(
                f'<rect x="{x_a:.1f}" y="{y:.1f}" width="{max(x_b - x_a, 1):.1f}" '
                f'height="{BAR_H}" fill="{color}"{opacity}/>'
            )
        x_end = scale(span.end)
        label = f"{span.ms:.0f}" if span.end <= scale.right else f"→ {span.end:.0f}"
        parts.append(
            f'<text x="{x_end + 3:.1f}" y="{y + BAR_H - 2:.1f}" class="val">{label}</text>'
        )
        parts.append("</g>")
    return parts


def _markers(view: TurnView, scale: _Scale, budget: float, bottom: float) -> list[str]:
    """EoS at 0, the budget (red dotted) and first bot audio (black, labelled)."""
    x_eos, x_budget = scale(0.0), scale(budget)
    parts = [
        f'<line x1="{x_eos:.1f}" y1="{TOP - 4}" x2="{x_eos:.1f}" y2="{bottom}" class="eos"/>',
        f'<text x="{x_eos:.1f}" y="{TOP - 6}" class="lab">EoS</text>',
        f'<line x1="{x_budget:.1f}" y1="{TOP - 4}" x2="{x_budget:.1f}" y2="{bottom}" '
        f'stroke="{OVER_COLOR}" stroke-width="1.5" stroke-dasharray="3 3"/>',
    ]
    if view.ttfa is not None:
        x = scale(view.ttfa)
        clipped = view.ttfa > scale.right  # off the shared axis: dashed, label says so
        dash = ' stroke-dasharray="4 3"' if clipped else ""
        parts.append(
            f"<g><title>first bot audio {view.ttfa:.0f} ms after EoS</title>"
            f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{bottom}" '
            f'stroke="{AUDIO_COLOR}" stroke-width="2"{dash}/>'
            f'<path d="M{x - 4:.1f},{TOP - 10} L{x + 4:.1f},{TOP - 10} L{x:.1f},{TOP - 3} Z" '
            f'fill="{AUDIO_COLOR}"/></g>'
        )
        anchor = "end" if x > WIDTH - 90 else "start"
        label = f"{'→ ' if clipped else ''}first audio {view.ttfa:.0f}"
        parts.append(
            f'<text x="{x + (-6 if anchor == "end" else 6):.1f}" y="{TOP - 6}" class="lab" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    return parts


def waterfall_svg(
    view: TurnView, x_range: tuple[float, float], budget: float, shares: Mapping[str, float]
) -> str:
    """The waterfall of one turn as an inline <svg> element (no xmlns: HTML5 does not need it)."""
    rows = [s.stage for s in view.spans] or list(STAGES)
    scale = _Scale(*x_range)
    bottom = TOP + len(rows) * ROW_H
    height = bottom + AXIS_H
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="waterfall of {escape(view.id)}">'
    ]
    parts += _axis(scale, bottom, budget)
    for index, stage in enumerate(rows):
        y = TOP + index * ROW_H + ROW_H / 2 + 4
        parts.append(f'<text x="{LABEL_W - 6}" y="{y:.1f}" class="row">{escape(stage)}</text>')
    parts += _bars(view, scale, shares, rows)
    parts += _markers(view, scale, budget, bottom)
    if not view.spans:
        parts.append(
            f'<text x="{WIDTH / 2:.0f}" y="{TOP + 3 * ROW_H}" class="lab" '
            'text-anchor="middle">no stage spans recorded</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


SVG_CSS = """
svg .grid { stroke: #eee; stroke-width: 1; }
svg .tick { font-size: 9px; fill: #888; text-anchor: middle; }
svg .row { font-size: 10px; fill: #333; text-anchor: end; }
svg .val { font-size: 9px; fill: #333; }
svg .lab { font-size: 10px; fill: #111; }
svg .eos { stroke: #555; stroke-width: 1.2; }
"""
