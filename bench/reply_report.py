"""The reply-quality results as a terminal table and a self-contained HTML page of failures."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.reply_eval import KINDS


def print_table(console: Console, results: dict[str, Any]) -> None:
    table = Table(title="reply quality", header_style="bold")
    for column in ("candidate", "score", *KINDS, "leaks", "llm.ttft p50", "llm.clause p50"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    for c in results["candidates"]:
        table.add_row(
            c["candidate"],
            f"{c['score']:.0%} ({c['passed']}/{c['requests']})",
            *(f"{c['by_kind'].get(k, 0):.0%}" for k in KINDS),
            str(c["leaks"]),
            f"{c['llm_ttft_p50_ms']} ms",
            f"{c['llm_clause_p50_ms']} ms",
        )
    console.print(table)


def _row(r: dict[str, Any]) -> str:
    expected = r["expected"]
    must = "; ".join("/".join(g) for g in expected["must"]) or "-"
    heard = f"<br><small>heard: {html.escape(r['heard'])}</small>" if r.get("heard") else ""
    return (
        f"<tr><td>{html.escape(r['id'])}</td><td>{html.escape(r['request'])}{heard}</td>"
        f"<td>{html.escape(r['reply']) or '<em>(nothing)</em>'}</td>"
        f"<td>must: {html.escape(must)}<br>must not: "
        f"{html.escape(', '.join(expected['must_not']) or '-')}"
        f"{'<br>an honest refusal' if expected['refusal'] else ''}</td>"
        f"<td>{html.escape('; '.join(r['detail']))}</td></tr>"
    )


def write_report(results: dict[str, Any], path: Path) -> None:
    parts = [
        "<!doctype html><meta charset='utf-8'><title>reply quality</title>",
        "<style>body{font:14px system-ui;margin:1.5rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top}"
        "th{background:#f3f3f3}</style>",
        f"<h1>Reply quality</h1><p><code>{html.escape(results['command'])}</code> · "
        f"{html.escape(str(results['machine'].get('cpu')))} · {results['created']}</p>",
        "<table><tr><th>candidate</th><th>score</th>"
        + "".join(f"<th>{k}</th>" for k in KINDS)
        + "<th>leaks</th><th>llm.ttft p50</th><th>llm.clause p50</th></tr>",
    ]
    for c in results["candidates"]:
        parts.append(
            f"<tr><td>{html.escape(c['candidate'])}</td><td>{c['score']:.0%}</td>"
            + "".join(f"<td>{c['by_kind'].get(k, 0):.0%}</td>" for k in KINDS)
            + f"<td>{c['leaks']}</td><td>{c['llm_ttft_p50_ms']} ms</td>"
            f"<td>{c['llm_clause_p50_ms']} ms</td></tr>"
        )
    parts.append("</table>")
    for c in results["candidates"]:
        failures = [r for r in c["rows"] if not r["passed"]]
        parts.append(
            f"<h2>{html.escape(c['candidate'])}: {len(failures)} failures</h2>"
            "<table><tr><th>id</th><th>request</th><th>reply</th><th>expected</th>"
            "<th>why it failed</th></tr>" + "".join(_row(r) for r in failures) + "</table>"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
