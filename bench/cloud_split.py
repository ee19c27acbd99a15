"""How the budget splits between the network and the stages, from `voice bench` results JSONs
of the same corpus run against the cloud emulators at several network delays.

    python -m bench.cloud_split "0 ms=r0.json" "30 ms=r30.json" "60 ms=r60.json"

The emulators answer at once, so what a cloud stage's p50 gains over the first (baseline)
run is network: the handshake and round trips that stage paid. Prints a Markdown table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CLOUD_STAGES = ("stt", "llm.ttft", "tts.ttfb")
STAGES = ("endpoint", "stt", "llm.ttft", "llm.clause", "tts.ttfb", "transport")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def split_table(runs: list[tuple[str, dict[str, Any]]]) -> str:
    header = ["RTT", "TTFA p50", *[f"{s} p50" for s in STAGES], "network (vs first row)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    baseline: float | None = None
    for label, results in runs:
        stages = {
            name: (stats or {}).get("p50")
            for name, stats in (results.get("stages_ms") or {}).items()
        }
        cloud = [stages.get(s) for s in CLOUD_STAGES]
        total = None if any(v is None for v in cloud) else sum(v for v in cloud if v is not None)
        if baseline is None:
            baseline = total
        network = None if total is None or baseline is None else total - baseline
        ttfa = (results.get("ttfa_ms") or {}).get("p50")
        cells = [label, _fmt(ttfa), *[_fmt(stages.get(s)) for s in STAGES], _fmt(network)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or any("=" not in arg for arg in argv):
        print(__doc__, file=sys.stderr)
        return 2
    runs = []
    for arg in argv:
        label, _, path = arg.partition("=")
        runs.append((label, json.loads(Path(path).read_text(encoding="utf-8"))))
    print(split_table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
