"""What the agent says about its delegated tasks, and when it may say it.

Sans-IO: the caller's words, the harness's task updates and the clock (`now_ns`, whether the
session is idle) come in; replies (an acknowledgement, a status answer, a cancellation) and
utterances (progress, a result) go out. The session speaks them; `voice/delegate/delegator.py`
does the network and the SQLite. Nothing is spoken over the caller: an utterance waits until the
session has been idle (no user speech, no bot turn) for `gap_ms`, and a result the caller did
not hear to the end (barge-in) is queued again.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from dataclasses import dataclass

from voice.delegate.decision import Decision, decide

TERMINAL = frozenset({"completed", "failed", "canceled", "rejected"})
_NOUNS = {
    "booking": "booking",
    "research": "research",
    "filing": "request",
    "ordering": "order",
    "scheduling": "scheduling request",
}
ACKNOWLEDGEMENT = "Okay, I'm on it. I'll let you know when it's done."
_MAX_SPOKEN_CHARS = 300  # a long result is cut at a sentence end: a voice reply stays short


@dataclass
class TrackedTask:
    key: int  # ours, before and after the harness names the task
    request: str  # the caller's words
    kind: str
    task_id: str = ""  # the harness's, once it answered
    state: str = "sending"  # then the A2A state: submitted, working, completed, ...
    progress: str = ""  # the latest status message
    result: str = ""
    canceled_by_caller: bool = False
    reported: bool = False  # the caller heard how it ended
    finished_ns: int | None = None  # when the harness said it ended

    @property
    def noun(self) -> str:
        return _NOUNS.get(self.kind, "task")

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


@dataclass(frozen=True)
class Reply:
    """The whole reply to a user turn about delegation; the actions wait for its commit."""

    text: str
    send: tuple[str, str] | None = None  # (request, kind): start a task
    cancel: int | None = None  # the key of the task to cancel
    reports: int | None = None  # the key of a task whose outcome this reply tells


@dataclass(frozen=True)
class Utterance:
    """Something to say at a gap."""

    text: str
    key: int
    final: bool  # the outcome (else progress)


def spoken_form(text: str) -> str:
    """One line, cut after the last sentence end that fits the spoken budget."""
    line = " ".join(text.split())
    if len(line) <= _MAX_SPOKEN_CHARS:
        return line
    head = line[:_MAX_SPOKEN_CHARS]
    ends = [m.end() for m in re.finditer(r"[.!?](\s|$)", head)]
    return head[: ends[-1]].strip() if ends else head.rsplit(" ", 1)[0] + "..."


class DelegationPolicy:
    def __init__(
        self, gap_ms: int = 500, speak_progress: bool = True, progress_every_ms: int = 5000
    ) -> None:
        self.gap_ns = gap_ms * 1_000_000
        self.speak_progress = speak_progress
        self.progress_every_ns = progress_every_ms * 1_000_000
        self.tasks: dict[int, TrackedTask] = {}
        self._keys = itertools.count(1)
        self._queue: deque[Utterance] = deque()
        self._in_flight: Utterance | None = None
        self._idle_since_ns: int | None = None
        self._last_progress_ns: int | None = None

    # -- the caller's words ------------------------------------------------------------------

    def reply_to(self, text: str) -> Reply | None:
        """The reply to a user turn, or None for an ordinary turn. Changes nothing: the turn
        may be a speculation that is discarded; `committed(reply)` applies it."""
        decision = decide(text)
        return None if decision is None else self.reply_for(decision, text)

    def reply_for(self, decision: Decision, request: str) -> Reply | None:
        """The reply to a decided intent (the rules' or a tool call's, voice/delegate/tools.py):
        `request` is the errand to send; None when it asks about a task and there is none."""
        if decision.intent == "delegate":
            return Reply(ACKNOWLEDGEMENT, send=(" ".join(request.split()), decision.kind))
        task = self._latest()
        if task is None:
            return None  # no task to talk about: the words are the LLM's
        if decision.intent == "cancel":
            if task.finished:
                return Reply(f"Your {task.noun} is already {self._state_words(task)}.")
            return Reply(f"Okay, I've cancelled the {task.noun}.", cancel=task.key)
        return self._status(task)

    def committed(self, reply: Reply) -> int | None:
        """The turn that spoke `reply` was committed: apply it. Returns the new task's key."""
        if reply.reports is not None:
            self._mark_reported(reply.reports)
        if reply.cancel is not None:
            self.tasks[reply.cancel].canceled_by_caller = True
        if reply.send is None:
            return None
        request, kind = reply.send
        key = next(self._keys)
        self.tasks[key] = TrackedTask(key, request, kind)
        return key

    def _latest(self) -> TrackedTask | None:
        """The task the caller means: the newest unfinished one, else the newest."""
        unfinished = [t for t in self.tasks.values() if not t.finished]
        pool = unfinished or list(self.tasks.values())
        return max(pool, key=lambda t: t.key) if pool else None

    def _status(self, task: TrackedTask) -> Reply:
        if task.state == "completed":
            return Reply(self._outcome_text(task), reports=task.key)
        if task.finished:
            return Reply(f"Your {task.noun} {self._state_words(task)}.", reports=task.key)
        if task.state in ("sending", "submitted"):
            return Reply(f"Your {task.noun} has just started; nothing back yet.")
        if task.state in ("input-required", "auth-required"):
            return Reply(f"Your {task.noun} is waiting for more details.")
        progress = f": {spoken_form(task.progress)}" if task.progress else "."
        return Reply(f"Your {task.noun} is still in progress{progress}")

    @staticmethod
    def _state_words(task: TrackedTask) -> str:
        return {"canceled": "cancelled", "rejected": "was turned down"}.get(
            task.state, "failed" if task.state == "failed" else "done"
        )

    def _outcome_text(self, task: TrackedTask) -> str:
        if task.state == "completed":
            done = f"Your {task.noun} is done"
            return f"{done}: {spoken_form(task.result)}" if task.result else f"{done}."
        if task.state == "canceled":
            return f"Your {task.noun} was cancelled."
        reason = f": {spoken_form(task.result)}" if task.result else "."
        if task.state == "rejected":
            return f"Sorry, your {task.noun} was turned down{reason}"
        return f"Sorry, your {task.noun} didn't work out{reason}"

    # -- the harness -------------------------------------------------------------------------

    def resumed(self, task_id: str, request: str, kind: str) -> int:
        """A task of an earlier run, from the store, still to report; the harness tells its
        state next."""
        key = next(self._keys)
        self.tasks[key] = TrackedTask(key, request, kind, task_id, "submitted")
        return key

    def on_update(
        self,
        key: int,
        now_ns: int,
        state: str,
        message: str = "",
        result: str = "",
        task_id: str = "",
    ) -> None:
        """A task's state changed or it said something (`message`), or it produced `result`."""
        task = self.tasks[key]
        if task_id:
            task.task_id = task_id
        if result:
            task.result = result
        if task.finished or task.reported:
            return  # a terminal state is final; late events change nothing
        task.state = state or task.state
        if task.finished:
            task.finished_ns = now_ns
            if not task.result and message:
                task.result = message
            self._queue = deque(u for u in self._queue if u.key != key)  # progress is moot
            if task.canceled_by_caller:
                task.reported = True  # the caller asked for it and heard it acknowledged
            else:
                self._queue.appendleft(Utterance(self._outcome_text(task), key, final=True))
            return
        if message and message != task.progress:
            task.progress = message
            due = self._last_progress_ns is None or (
                now_ns - self._last_progress_ns >= self.progress_every_ns
            )
            if self.speak_progress and due and state == "working":
                self._last_progress_ns = now_ns
                self._queue = deque(u for u in self._queue if u.key != key or u.final)
                text = f"An update on your {task.noun}: {spoken_form(message)}"
                self._queue.append(Utterance(text, key, final=False))

    # -- speaking at gaps --------------------------------------------------------------------

    def tick(self, now_ns: int, idle: bool) -> Utterance | None:
        """Called on every input frame: an utterance to speak now, if the gap allows one."""
        if not idle or self._in_flight is not None:
            self._idle_since_ns = None
            return None
        if self._idle_since_ns is None:
            self._idle_since_ns = now_ns
        if not self._queue or now_ns - self._idle_since_ns < self.gap_ns:
            return None
        self._in_flight = self._queue.popleft()
        self._idle_since_ns = None
        return self._in_flight

    def spoken(self, utterance: Utterance, heard: bool) -> int | None:
        """The bot turn that spoke `utterance` is over. Returns the key of a task now reported."""
        if self._in_flight is utterance:
            self._in_flight = None
        if not utterance.final:
            return None  # progress the caller talked over is stale by the next gap
        if not heard:
            self._queue.appendleft(utterance)  # the outcome is said again at the next gap
            return None
        self._mark_reported(utterance.key)
        return utterance.key

    def superseded(self, utterance: Utterance) -> bool:
        """A progress update still being spoken when its task has finished: the outcome is the
        news now, so the update is cut rather than making the outcome wait for its end."""
        return not utterance.final and self.tasks[utterance.key].finished

    def _mark_reported(self, key: int) -> None:
        self.tasks[key].reported = True
        self._queue = deque(u for u in self._queue if u.key != key)

    @property
    def quiet(self) -> bool:
        """Nothing left to follow or to say."""
        return (
            self._in_flight is None
            and not self._queue
            and all(t.finished and t.reported for t in self.tasks.values())
        )
