"""One cancellable scope per bot turn.

All work of a bot turn (final STT, LLM, TTS, playout) is spawned inside one `TurnScope`, so that
barge-in or a failed speculation cancels the whole turn with one `await scope.cancel()` and
nothing is left running. Model inference runs in worker threads that asyncio cannot interrupt,
so the scope also carries a `threading.Event` that those loops check between steps (between LLM
tokens, between TTS sentences).

A scope may start before the user's turn is known to be over (speculation). Its output is held
at the playout gate until `commit()`; `cancel()` discards it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any


class TurnCancelled(Exception):
    """Raised inside a turn's work when its scope was cancelled."""


class TurnScope:
    def __init__(self, turn_id: int) -> None:
        self.turn_id = turn_id
        self.cancel_flag = threading.Event()
        # The reply's first clause has gone to TTS: the rest of the reply can wait while other
        # calls' urgent model work runs (voice/providers/worker.py).
        self.reply_started = threading.Event()
        # The first clause's first audio is synthesized (voice/agent/stages.py).
        self.first_audio = threading.Event()
        self._committed = asyncio.Event()
        self._cancelled = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.committed_at_ns: int | None = None

    def first_audio_pending(self) -> bool:
        """The first clause is being synthesized and none of its audio exists yet."""
        return self.reply_started.is_set() and not self.first_audio.is_set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_flag.is_set()

    @property
    def committed(self) -> bool:
        return self._committed.is_set()

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        return frozenset(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Start a task that belongs to this turn."""
        if self.cancelled:
            coro.close()
            raise TurnCancelled(f"turn {self.turn_id} is cancelled")
        task = asyncio.get_running_loop().create_task(coro, name=f"turn{self.turn_id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def commit(self, at_ns: int) -> None:
        """The user's turn is over: let this turn's audio play."""
        if not self.cancelled and not self.committed:
            self.committed_at_ns = at_ns
            self._committed.set()

    async def wait_committed(self) -> None:
        """Block until committed; raise `TurnCancelled` if the scope is cancelled first."""
        if self.committed:
            return
        if self.cancelled:
            raise TurnCancelled(f"turn {self.turn_id} is cancelled")
        committed = asyncio.ensure_future(self._committed.wait())
        cancelled = asyncio.ensure_future(self._cancelled.wait())
        try:
            await asyncio.wait({committed, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            committed.cancel()
            cancelled.cancel()
        if not self.committed:
            raise TurnCancelled(f"turn {self.turn_id} is cancelled")

    async def cancel(self) -> None:
        """Cancel every task of the turn and wait until all of them have finished."""
        self.cancel_flag.set()
        self._cancelled.set()
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def wait(self) -> None:
        """Wait for every task of the turn to finish (errors are the tasks' own business)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
