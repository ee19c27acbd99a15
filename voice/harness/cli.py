"""`voice harness`: run the harness in the foreground until Ctrl+C or SIGTERM.

Prints the URL and the token first, so a person (or a test that starts it as a subprocess)
can connect; a stop signal shuts the parts down in order, leaving workflows to the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from rich.console import Console

from voice.config import HarnessConfig
from voice.harness.runner import run_harness


def serve_harness(settings: HarnessConfig, console: Console) -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # a2a-sdk warns once per open stream at shutdown that its dispatcher has stopped: noise.
    logging.getLogger("a2a.server.events.event_queue_v2").setLevel(logging.ERROR)
    asyncio.run(_serve(settings, console))
    # Everything is shut down by now, but the Temporal SDK's Rust threads may still finish an
    # abandoned long poll and call into Python while the interpreter finalizes, which aborts
    # the process (seen: "PyGILState_Release ... finalizing"). Exit without finalizing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _serve(settings: HarnessConfig, console: Console) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as running:
        with console.status("starting Temporal, the worker and the A2A server..."):
            endpoint = await running.enter_async_context(run_harness(settings))
        temporal = settings.temporal or f"embedded dev server at {endpoint.temporal}"
        console.print(
            f"[bold]voice harness[/]: A2A at [link]{endpoint.url}[/]"
            f"  (agent card: {endpoint.url}/.well-known/agent-card.json)",
            soft_wrap=True,
        )
        console.print(f"token: {endpoint.token}", soft_wrap=True, highlight=False)
        console.print(
            f"Temporal: {temporal}; data: {endpoint.data_dir}; resumed "
            f"{endpoint.resumed} unfinished task(s). Ctrl+C stops.",
            soft_wrap=True,
            highlight=False,
        )
        sys.stdout.flush()  # a parent process reads the URL and token from a pipe or file
        waiters = {
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(endpoint.stopped.wait()),
        }
        _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
