"""The tables of `voice bench --stage stt`: one row per STT option (console, markdown, HTML)."""

from __future__ import annotations

import html
from typing import Any


def _cell(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f} %" if pct else f"{value:.0f}"


def table_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    kinds = list(results["kinds"])
    header = ["option", "WER", *[f"WER {k}" for k in kinds]]
    header += ["p50 ms", "p95 ms", "p50 ≤5 s", "p95 ≤5 s", "CPU ms p50", "CPU p50 ≤5 s"]
    header += ["loops", "empty"]
    header += ["partials CPU ms/s"]
    rows = []
    for spec, o in results["options"].items():
        lat, short, cpu = o["latency_ms"] or {}, o["latency_short_ms"] or {}, o["cpu_ms"] or {}
        rows.append(
            [
                spec,
                _cell(o["wer"], True),
                *[_cell(o["wer_by_kind"].get(k), True) for k in kinds],
                _cell(lat.get("p50")),
                _cell(lat.get("p95")),
                _cell(short.get("p50")),
                _cell(short.get("p95")),
                _cell(cpu.get("p50")),
                _cell((o.get("cpu_short_ms") or {}).get("p50")),
                str(o["loops"]),
                str(o["empty"]),
                _cell(o.get("partial_cpu_ms_per_s")),
            ]
        )
    return header, rows


def markdown(results: dict[str, Any], title: str, command: str) -> str:
    header, rows = table_rows(results)
    kinds = ", ".join(f"{k} {n}" for k, n in results["kinds"].items())
    lines = [
        f"# {title}",
        "",
        f"`{command}`",
        "",
        f"{results['segments']} segments ({kinds}), {results['runs']} run(s) each, options "
        "interleaved. Latency: wall time of one transcribe call after end of speech.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def html_table(results: dict[str, Any], title: str, command: str) -> str:
    header, rows = table_rows(results)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}"
        "td:first-child{text-align:left}</style>"
        f"<h1>{html.escape(title)}</h1><p><code>{html.escape(command)}</code></p>"
        f"<table><tr>{head}</tr>{body}</table>"
    )
