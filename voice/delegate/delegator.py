"""The I/O around the delegation policy: the harness's streams, the SQLite store, the clock.

One `Delegator` per session. The session asks it three things: the reply to a user turn
(`fixed_reply`, in the LLM stage, before the model; `tool_use`, the same policy offered to a
model that calls tools, for what the rules missed), what to say at a gap (`due`, on every
input frame) and tells it what was heard (`said`). Sending and cancelling wait for the turn's
commit, so a speculative turn that is discarded never starts a task. Every background task is
the delegator's own and ends with `close()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from voice.config import DelegateConfig
from voice.delegate.client import HarnessClient, TaskNotFoundError, TaskUpdate
from voice.delegate.decision import prepare
from voice.delegate.policy import DelegationPolicy, Reply, Utterance
from voice.delegate.store import LOCAL_CALLER, TaskStore
from voice.delegate.tools import TOOLS, reply_to_call
from voice.pipeline.turn_scope import TurnCancelled, TurnScope
from voice.providers.base import ToolCall, ToolUse

log = logging.getLogger(__name__)

# Tasks followed by a live session of this process: the store is shared by the process's
# sessions, and a second call must not report the first caller's task.
_claimed: set[str] = set()


class Delegator:
    def __init__(
        self,
        config: DelegateConfig,
        client: HarnessClient | None = None,
        policy: DelegationPolicy | None = None,
        caller: str = LOCAL_CALLER,
    ) -> None:
        self.config = config
        self.caller = caller  # whose tasks these are: only their sessions follow them again
        self.client = client or HarnessClient(config.url, config.bearer_token())
        self.policy = policy or DelegationPolicy(
            config.gap_ms, config.speak_progress, config.progress_every_ms
        )
        self.store = TaskStore(config.db_path)
        self._background: set[asyncio.Task[Any]] = set()
        self._writes: set[asyncio.Task[Any]] = set()  # store writes: finished, never cancelled

    async def start(self) -> None:
        """Fit the decision's classifier, and follow again every task of an earlier run whose
        outcome the caller has not heard."""
        await asyncio.to_thread(prepare)
        for stored in await asyncio.to_thread(self.store.unreported, self.caller):
            if stored.task_id in _claimed:
                continue
            _claimed.add(stored.task_id)
            key = self.policy.resumed(stored.task_id, stored.request, stored.kind)
            log.info("resuming task %s (%s)", stored.task_id, stored.request)
            self._spawn(self._follow(key))

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self.client.close()
        for tracked in self.policy.tasks.values():  # a later session may follow them again
            _claimed.discard(tracked.task_id)

    # -- the session's questions -------------------------------------------------------------

    def fixed_reply(
        self, scope: TurnScope, fallback: Callable[[str], str | None] | None
    ) -> Callable[[str], str | None]:
        """The LLM stage's fixed reply for this turn: delegation first, then `fallback`."""

        def reply(text: str) -> str | None:
            decided = self.policy.reply_to(text)
            if decided is not None:
                return self._reply(decided, scope)
            return fallback(text) if fallback is not None else None

        return reply

    def tool_use(self, scope: TurnScope) -> ToolUse:
        """The tools the LLM stage offers a model that takes them, for what `fixed_reply` let
        through (voice/delegate/tools.py). A call gets the same reply as the rules' decision:
        its text is spoken, its actions wait for this turn's commit."""

        def handle(call: ToolCall, words: str) -> str | None:
            log.info("the model called %s %s", call.name, dict(call.input))
            decided = reply_to_call(self.policy, call, words)
            return None if decided is None else self._reply(decided, scope)

        return ToolUse(TOOLS, handle)

    def _reply(self, decided: Reply, scope: TurnScope) -> str:
        self._spawn(self._when_committed(decided, scope))
        return decided.text

    def due(self, now_ns: int, idle: bool) -> Utterance | None:
        return self.policy.tick(now_ns, idle)

    def superseded(self, utterance: Utterance) -> bool:
        return self.policy.superseded(utterance)

    def said(self, utterance: Utterance, heard: bool) -> None:
        key = self.policy.spoken(utterance, heard)
        if key is not None:
            self._store_outcome(key)

    @property
    def quiet(self) -> bool:
        return self.policy.quiet

    # -- the harness -------------------------------------------------------------------------

    async def _when_committed(self, reply: Reply, scope: TurnScope) -> None:
        try:
            await scope.wait_committed()
        except TurnCancelled:
            return  # a speculation that was discarded: nothing was said, nothing is done
        key = self.policy.committed(reply)
        if reply.reports is not None:
            self._store_outcome(reply.reports)
        if key is not None:
            self._spawn(self._send(key))
        if reply.cancel is not None and self.policy.tasks[reply.cancel].task_id:
            self._spawn(self._cancel(self.policy.tasks[reply.cancel].task_id))

    async def _send(self, key: int) -> None:
        task = self.policy.tasks[key]
        try:
            async for update in self.client.send(task.request):
                if update.task_id and not task.task_id:
                    await asyncio.to_thread(
                        self.store.add,
                        update.task_id,
                        task.request,
                        task.kind,
                        update.state,
                        self.caller,
                    )
                    _claimed.add(update.task_id)
                    if task.canceled_by_caller:  # cancelled before the harness named it
                        self._spawn(self._cancel(update.task_id))
                self._apply(key, update)
                if task.finished:
                    return
        except Exception as exc:  # the harness is down or refused: say so, lose nothing else
            log.warning("sending task %d failed: %s", key, exc)
            if not task.task_id:
                self._apply(key, TaskUpdate("", "failed", "I couldn't reach the task service."))
                return
        await self._follow(key)  # the stream ended before the task did

    async def _follow(self, key: int) -> None:
        task = self.policy.tasks[key]
        retry_s = self.config.retry_ms / 1000
        while not task.finished:
            try:
                async for update in self.client.follow(task.task_id):
                    retry_s = self.config.retry_ms / 1000  # it answers again
                    self._apply(key, update)
                    if task.finished:
                        return
            except TaskNotFoundError:  # the harness lost it: waiting longer changes nothing
                self._apply(key, TaskUpdate("", "failed", "The task service lost track of it."))
                return
            except Exception as exc:
                log.warning("following task %s failed: %s", task.task_id, exc)
            await asyncio.sleep(retry_s)
            retry_s = min(retry_s * 2, 30.0)  # a harness that is down is asked less often

    async def _cancel(self, task_id: str) -> None:
        try:
            await self.client.cancel(task_id)
        except Exception as exc:
            log.warning("cancelling task %s failed: %s", task_id, exc)

    def _apply(self, key: int, update: TaskUpdate) -> None:
        task = self.policy.tasks[key]
        was_finished = task.finished
        self.policy.on_update(
            key, time.monotonic_ns(), update.state, update.message, update.result, update.task_id
        )
        if task.finished and not was_finished and task.task_id:
            self._store_outcome(key)

    def _store_outcome(self, key: int) -> None:
        task = self.policy.tasks[key]
        if task.task_id:
            write = asyncio.to_thread(self.store.set_state, task.task_id, task.state, task.reported)
            self._spawn(write, self._writes)

    def _spawn(
        self, coro: Coroutine[Any, Any, Any], into: set[asyncio.Task[Any]] | None = None
    ) -> None:
        tasks = self._background if into is None else into
        task = asyncio.get_running_loop().create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)


def make_delegator(config: DelegateConfig, caller: str = LOCAL_CALLER) -> Delegator | None:
    """The session's delegator for `caller`, or None when delegation is off."""
    return Delegator(config, caller=caller) if config.enabled else None
