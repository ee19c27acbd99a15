"""The report's metadata section: what exactly ran, so two reports can be compared honestly.

Git revision (and whether the tree was dirty), package versions, the machine, thread counts per
component per agent, each agent's end-of-turn model, the warm-up policy and the order of play.
Every value is escaped; anything missing (results from an older bench) prints as "n/a".
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from bench.report_data import peer_label

NA = '<span class="na">n/a</span>'
COMPONENTS = ("vad", "end_of_turn", "stt", "llm", "tts")


def _cell(value: Any) -> str:
    return NA if value is None or value == "" else escape(str(value))


def _git(results: Mapping[str, Any]) -> str:
    git = results.get("git")
    if not isinstance(git, Mapping) or not git.get("commit"):
        return NA
    dirty = git.get("dirty")
    state = " (dirty: uncommitted changes)" if dirty else "" if dirty is False else " (dirty: ?)"
    return f"<code>{escape(str(git['commit']))}</code>{state}"


def _pairs(data: Any) -> str:
    if not isinstance(data, Mapping) or not data:
        return NA
    return ", ".join(f"{escape(str(k))} {_cell(v)}" for k, v in data.items())


def _threads_table(results: Mapping[str, Any]) -> str:
    threads = results.get("threads")
    if not isinstance(threads, Mapping) or not threads:
        return f"<p>Threads: {NA}</p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in COMPONENTS)
    rows = []
    for agent, counts in threads.items():
        counts = counts if isinstance(counts, Mapping) else {}
        cells = "".join(f"<td>{_cell(counts.get(c))}</td>" for c in COMPONENTS)
        rows.append(f"<tr><th>{escape(peer_label(str(agent)))}</th>{cells}</tr>")
    return (
        f'<table class="meta"><thead><tr><th>threads</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _end_of_turn_table(results: Mapping[str, Any]) -> str:
    agents = results.get("agents")
    if not isinstance(agents, Mapping) or not agents:
        return ""
    rows = []
    for agent, info in agents.items():
        eot = info.get("end_of_turn") if isinstance(info, Mapping) else None
        eot = eot if isinstance(eot, Mapping) else {}
        rest = {k: v for k, v in eot.items() if k not in ("model", "version")}
        rows.append(
            f"<tr><th>{escape(peer_label(str(agent)))}</th><td>{_cell(eot.get('model'))}</td>"
            f"<td>{_cell(eot.get('version'))}</td><td>{_pairs(rest)}</td></tr>"
        )
    return (
        '<table class="meta"><thead><tr><th>end of turn</th><th>model</th><th>version</th>'
        f"<th>details</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _order(results: Mapping[str, Any]) -> str:
    order = results.get("order")
    if not isinstance(order, list) or not order:
        return f"<p>Order of play: {NA}</p>"
    items = "".join(
        f"<li>run {_cell(o.get('run'))}, <code>{_cell(o.get('id'))}</code>: "
        f"{' → '.join(escape(str(a)) for a in o.get('agents', []))}</li>"
        for o in order
        if isinstance(o, Mapping)
    )
    return (
        f"<details><summary>Order of play ({len(order)} cases; it rotates case by case)"
        f"</summary><ol>{items}</ol></details>"
    )


def metadata_section(results: Mapping[str, Any]) -> str:
    """The whole section: a facts list, the threads and end-of-turn tables, the play order."""
    warm = results.get("warm_up")
    facts = [
        ("git revision", _git(results)),
        ("machine", _pairs(results.get("machine"))),
        ("versions", _pairs(results.get("versions"))),
        ("warm-up", _pairs(warm)),
    ]
    lis = "".join(f"<li><b>{name}</b>: {value}</li>" for name, value in facts)
    return (
        f'<h2>What ran</h2><ul class="meta">{lis}</ul>'
        f"{_threads_table(results)}{_end_of_turn_table(results)}{_order(results)}"
    )
