"""How every kind of call (browser, SIP, media stream) lets its session end.

A call that hangs up stops its input; the session then finishes the turns it committed (a
reply already being spoken is played to its end, or dropped by the transport) and returns. This
waits for that, bounded, and cancels what is still running after the bound, so a stuck call
can never hold its slot forever.
"""

from __future__ import annotations

import asyncio
import contextlib

FINISH_TIMEOUT_S = 10.0


async def let_finish(task: asyncio.Task[None] | None, timeout_s: float = FINISH_TIMEOUT_S) -> None:
    """Wait up to `timeout_s` for a call's session task to end by itself, then cancel it."""
    if task is None or task is asyncio.current_task():
        return
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(asyncio.shield(task), timeout=timeout_s)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
