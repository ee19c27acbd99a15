"""How fast the durable harness answers: its start, the first A2A event, a task's overhead.

The voice agent says "I'm on it" when the harness has taken the task, so the time from the
request to the first event is the number that matters in a call; the time to the result with
instant stand-in services (`step_s = 0`) is the harness's own overhead (A2A, Temporal
journal, progress polling) per four-step task. Drives the public entry points: `run_harness`
with the embedded dev server and a2a-sdk's streaming client.

    python -m bench.harness_bench --tasks 20 --concurrent 8 --json bench/results/FILE.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.types.a2a_pb2 import Message, Part, Role, SendMessageRequest, TaskState

from voice.config import HarnessConfig
from voice.harness.runner import run_harness


async def _one_task(url: str, token: str, text: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=120) as http:
        client = await create_client(url, ClientConfig(httpx_client=http, streaming=True))
        request = SendMessageRequest(
            message=Message(
                message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=text)]
            )
        )
        start = time.perf_counter()
        marks: dict[str, float] = {}
        async for event in client.send_message(request):
            now_ms = (time.perf_counter() - start) * 1000
            marks.setdefault("first_event_ms", now_ms)
            if event.HasField("status_update"):
                state = event.status_update.status.state
                if state == TaskState.TASK_STATE_WORKING:
                    marks.setdefault("first_working_ms", now_ms)
                elif state == TaskState.TASK_STATE_COMPLETED:
                    marks["completed_ms"] = now_ms
        await client.close()
    if "completed_ms" not in marks:
        raise RuntimeError(f"task did not complete: {marks}")
    return marks


def _summary(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in ("first_event_ms", "first_working_ms", "completed_ms"):
        values = sorted(row[key] for row in rows)
        out[key] = {
            "p50": round(statistics.median(values), 1),
            "p90": round(values[min(len(values) - 1, int(0.9 * len(values)))], 1),
            "max": round(values[-1], 1),
        }
    return out


async def bench(tasks: int, concurrent: int, step_s: float, poll_ms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as data_dir:
        settings = HarnessConfig(port=0, data_dir=data_dir, step_s=step_s, poll_ms=poll_ms)
        start = time.perf_counter()
        async with run_harness(settings) as harness:
            start_s = time.perf_counter() - start
            print(f"harness up in {start_s:.2f} s (embedded dev server)", file=sys.stderr)
            sequential = []
            for index in range(tasks):
                row = await _one_task(harness.url, harness.token, f"research question {index}")
                sequential.append(row)
                print(
                    f"task {index + 1}/{tasks}: first event {row['first_event_ms']:.0f} ms, "
                    f"completed {row['completed_ms']:.0f} ms",
                    file=sys.stderr,
                )
            parallel: list[dict[str, float]] = []
            if concurrent:
                parallel = list(
                    await asyncio.gather(
                        *(
                            _one_task(harness.url, harness.token, f"research topic {index}")
                            for index in range(concurrent)
                        )
                    )
                )
                print(f"{concurrent} concurrent tasks done", file=sys.stderr)
    return {
        "command": "python -m bench.harness_bench " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "settings": {"step_s": step_s, "poll_ms": poll_ms, "workflow": "research (4 steps)"},
        "start_s": round(start_s, 2),
        "sequential": {"tasks": tasks, **_summary(sequential)} if sequential else {},
        "concurrent": {"tasks": concurrent, **_summary(parallel)} if parallel else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20, help="tasks run one after another")
    parser.add_argument("--concurrent", type=int, default=8, help="tasks run at once after")
    parser.add_argument("--step-s", type=float, default=0.0, help="stand-in call time")
    parser.add_argument("--poll-ms", type=int, default=250, help="harness.poll_ms")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = asyncio.run(bench(args.tasks, args.concurrent, args.step_s, args.poll_ms))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
