"""The benchmark report: one self-contained HTML file, plus PNG exports for a README.

`voice bench` measures TTFA (end of user speech → first bot audio frame) against a 500 ms
budget. The report exists so that a person sees at a glance whether we are within budget, how
we compare with the peer frameworks on the same models, and which stage eats the budget. It is a
single HTML file with everything inlined (CSS, base64 PNGs, SVG) so it can be attached to an
issue or opened offline, and it never fails on a partial run: every missing metric is "n/a".

Usage::

    from bench.report import write_report
    write_report(results, Path("out/report.html"), png_dir=Path("docs/img"))
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from bench.report_data import (
    STAGES,
    TurnView,
    budget_total,
    dig,
    mean_contributions,
    num,
    stage_shares,
    turn_views,
    waterfall_range,
    worst_stage,
)
from bench.report_meta import metadata_section
from bench.report_plots import (
    AUDIO_COLOR,
    OFF_PATH_ALPHA,
    OVER_COLOR,
    stage_color,
    stages_png,
    ttfa_cdf_png,
    waterfall_png,
)
from bench.report_svg import SVG_CSS, waterfall_svg
from bench.report_tables import NA, fmt_ms, fmt_pct, overlay_table, summary_table

PNG_NAMES = ("waterfall.png", "ttfa_cdf.png", "stages.png")
TEXT_CLIP = 200

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111;
       margin: 0 auto; padding: 16px 24px 48px; max-width: 1280px; }
h1 { margin: 0 0 4px; font-size: 24px; } h2 { margin: 32px 0 8px; font-size: 19px; }
.meta { color: #555; } .meta b { color: #111; font-weight: 600; }
.na { color: #999; } small { color: #666; }
.verdict { border-left: 6px solid #2e7d32; background: #f1f8f1; padding: 10px 16px;
           margin: 16px 0; font-size: 15px; }
.verdict.bad { border-color: #d62728; background: #fdf0f0; }
.verdict.none { border-color: #999; background: #f5f5f5; }
.verdict ul { margin: 4px 0; padding-left: 20px; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 10px; text-align: right; }
th { text-align: left; font-weight: 600; } thead th { background: #f5f5f5; text-align: right; }
thead th:first-child { text-align: left; } td.budget { color: #777; }
tr.sect th { background: #fafafa; color: #444; font-weight: 600; padding-top: 10px; }
td.over { background: #fbdada; color: #8b0000; font-weight: 600; }
td.warn { background: #fff1cc; } td.good { background: #e6f4e6; }
table.overlay td, table.overlay thead th { text-align: left; }
img.fig { max-width: 100%; border: 1px solid #eee; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px 6px; }
.card.over { border: 2px solid #d62728; background: #fffafa; }
.card h3 { margin: 0; font-size: 14px; display: flex; gap: 8px; align-items: baseline;
           flex-wrap: wrap; }
.card .badge { background: #d62728; color: #fff; border-radius: 3px; padding: 0 6px;
               font-size: 12px; }
.card .text { color: #555; font-size: 12px; margin-top: 2px; }
.legend span { display: inline-block; margin-right: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -1px;
          margin-right: 4px; }
footer { margin-top: 40px; color: #888; font-size: 12px; }
"""


def _img(png: bytes, alt: str) -> str:
    """A PNG inlined as a data URI: the report must open with no network and no side files."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="fig" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _text(value: Any) -> str:
    """A header value as text; null reads "n/a", not "None"."""
    return "n/a" if value is None or value == "" else str(value)


def _header(results: Mapping[str, Any]) -> str:
    """What was measured, where and when: needed to compare two reports."""
    machine = results.get("machine")
    machine_text = (
        ", ".join(f"{escape(str(k))}: {escape(_text(v))}" for k, v in machine.items())
        if isinstance(machine, Mapping) and machine
        else NA
    )
    fields = [
        ("corpus", escape(_text(results.get("corpus")))),
        ("runs", escape(_text(results.get("runs")))),
        ("date", escape(_text(results.get("created")))),
        ("machine", machine_text),
    ]
    meta = " · ".join(f"{name} <b>{value}</b>" for name, value in fields)
    return f'<h1>Voice agent benchmark</h1><div class="meta">{meta}</div>'


def _ttfa_sentence(results: Mapping[str, Any], budget: float) -> tuple[str, str]:
    """The headline, TTFA p50/p95 against the budget, and the banner style: ok, bad or none."""
    p50, p95 = num(dig(results, "ttfa_ms", "p50")), num(dig(results, "ttfa_ms", "p95"))
    if p50 is None and p95 is None:
        return f"No TTFA was measured for our agent (budget {budget:.0f} ms).", "none"
    over = [name for name, v in (("p50", p50), ("p95", p95)) if v is not None and v > budget]
    verdict = f"<b>over budget at {' and '.join(over)}</b>" if over else "<b>within budget</b>"
    return (
        f"TTFA p50 <b>{fmt_ms(p50)} ms</b>, p95 <b>{fmt_ms(p95)} ms</b> against a "
        f"{budget:.0f} ms budget: {verdict}.",
        "bad" if over else "ok",
    )


def _verdict(results: Mapping[str, Any], views: list[TurnView]) -> str:
    """A few sentences that answer "are we in budget, and what eats it?" before any chart."""
    budget = budget_total(results)
    headline, style = _ttfa_sentence(results, budget)
    items = [headline]
    worst = worst_stage(results)
    if worst:
        stage, p50, share = worst
        items.append(
            f"Largest stage overrun (p50 vs its share): <b><code>{escape(stage)}</code> "
            f"{p50:.0f} ms vs {share:.0f} ms (+{p50 - share:.0f} ms)</b>."
        )
    means = {k: v for k, v in mean_contributions(views).items() if v > 0}
    if means:
        top, total = max(means, key=lambda k: means[k]), sum(means.values())
        items.append(
            "On the critical path (mean over turns, overlap removed) "
            f"<b><code>{escape(top)}</code> takes {means[top]:.0f} ms</b> of {total:.0f} ms."
        )
    over_turns = [v for v in views if v.blame_stage]
    timed = sum(1 for v in views if v.ttfa is not None)
    if timed:
        counts = Counter(v.blame_stage for v in over_turns).most_common()
        blamed = ", ".join(f"<code>{escape(str(s))}</code> ×{n}" for s, n in counts)
        items.append(
            f"Over-budget turns: <b>{len(over_turns)} of {timed}</b> timed"
            + (f" — overran: {blamed}." if blamed else ".")
        )
    lis = "".join(f"<li>{item}</li>" for item in items)
    return f'<div class="verdict {style}"><ul>{lis}</ul></div>'


def _clip(text: Any) -> str:
    """Transcripts can be long; the card shows the start and keeps the rest in the tooltip."""
    full = str(text or "")
    short = full if len(full) <= TEXT_CLIP else full[:TEXT_CLIP] + "…"
    return f'<span title="{escape(full)}">{escape(short)}</span>'


def _card(view: TurnView, svg: str) -> str:
    """One turn: title line (TTFA, runs, verdict), its waterfall, what was heard and said."""
    case = view.case
    ttfa = "no bot audio" if view.ttfa is None else f"TTFA {view.ttfa:.0f} ms"
    runs = f"median of {view.runs} runs (run {case.get('run', '?')})" if view.runs > 1 else ""
    badge = f'<span class="badge">OVER: {escape(view.blame)}</span>' if view.blame else ""
    notes = [f"WER {fmt_pct(case.get('wer'))}"]
    if case.get("false_cutoff") is True:
        notes.append('<b style="color:#d62728">false cut-off</b>')
    end = num(case.get("audio_end_ms"))
    if end is not None:
        notes.append(f"bot audio until {end / 1000:.1f} s")
    return (
        f'<div class="card{" over" if view.blame else ""}" id="case-{escape(view.id)}">'
        f"<h3><code>{escape(view.id)}</code><span>{ttfa}</span><small>{runs}</small>{badge}</h3>"
        f"{svg}"
        f'<div class="text">heard: {_clip(case.get("transcript"))}</div>'
        f'<div class="text">replied: {_clip(case.get("reply"))}</div>'
        f'<div class="text">{" · ".join(notes)}</div></div>'
    )


def _legend() -> str:
    """The colour key, shared by every waterfall card."""
    keys = [(stage_color(s), s) for s in STAGES]
    keys += [(OVER_COLOR, "over the stage's share"), (AUDIO_COLOR, "first bot audio (TTFA)")]
    faded = f"background:{stage_color(STAGES[2])};opacity:{OFF_PATH_ALPHA}"
    spans = "".join(
        f'<span><i class="swatch" style="background:{color}"></i>{escape(label)}</span>'
        for color, label in keys
    )
    return (
        f'<p class="legend">{spans}<span>red dotted line = budget</span>'
        f'<span><i class="swatch" style="{faded}"></i>faded = ran in parallel, off the critical '
        "path (did not delay first audio)</span></p>"
    )


def _waterfalls(results: Mapping[str, Any], views: list[TurnView]) -> str:
    """Every turn case of our agent as a waterfall, all on one time axis so they compare."""
    if not views:
        return '<p class="na">No turn cases in these results.</p>'
    budget, shares = budget_total(results), stage_shares(results)
    x_range = waterfall_range(views, budget)
    cards = "".join(_card(v, waterfall_svg(v, x_range, budget, shares)) for v in views)
    intro = (
        "<p>One row per stage, bars from start to end in ms after end of user speech (EoS = 0). "
        "Bars overlap because STT, LLM and TTS start speculatively before the turn is "
        "committed. A case run several times shows its median-TTFA run. Hover a bar for exact "
        "times.</p>"
    )
    return intro + _legend() + f'<div class="cards">{cards}</div>'


def _config(results: Mapping[str, Any]) -> str:
    """The exact configuration, folded away: needed to reproduce, not to read."""
    config = results.get("config")
    if config is None:
        return ""
    text = json.dumps(config, indent=2, sort_keys=True, default=str)
    return f"<details><summary>configuration</summary><pre>{escape(text)}</pre></details>"


def render_html(results: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """The whole page as one string; `images` holds the PNGs to inline by file name."""
    views = turn_views(results)
    budget = budget_total(results)
    sections = [
        _header(results),
        _verdict(results, views),
        "<h2>Summary</h2>",
        summary_table(results),
        "<h2>Where the budget goes</h2>",
        _img(images["stages.png"], "per-stage latency against the budget"),
        "<h2>TTFA distribution</h2>",
        _img(images["ttfa_cdf.png"], f"TTFA CDF against the {budget:.0f} ms budget"),
        f"<h2>Per-turn waterfalls (ours, {len(views)} turn cases)</h2>",
        _waterfalls(results, views),
        "<h2>Overlay cases: barge-in, backchannel, noise</h2>",
        overlay_table(results),
        metadata_section(results),
        _config(results),
        "<footer>Generated by bench/report.py. TTFA = end of user speech → first bot audio "
        "frame handed to the transport, all systems on one clock.</footer>",
    ]
    body = "\n".join(sections)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Voice benchmark — {escape(str(results.get('corpus') or ''))}</title>"
        f"<style>{CSS}{SVG_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_report(
    results: dict[str, Any], html_path: Path, png_dir: Path | None = None
) -> list[Path]:
    """Write the HTML report (and, with `png_dir`, the PNG exports); return the paths written."""
    results = results if isinstance(results, dict) else {}
    images = {"ttfa_cdf.png": ttfa_cdf_png(results), "stages.png": stages_png(results)}
    if png_dir is not None:
        images["waterfall.png"] = waterfall_png(results)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(render_html(results, images), encoding="utf-8")
    written = [html_path]
    if png_dir is not None:
        png_dir = Path(png_dir)
        png_dir.mkdir(parents=True, exist_ok=True)
        for name in PNG_NAMES:
            path = png_dir / name
            path.write_bytes(images[name])
            written.append(path)
    return written
