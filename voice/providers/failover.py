"""Cloud first, local when the cloud is late: wrappers that implement the stage protocols.

`FailoverSTT`, `FailoverLLM` and `FailoverTTS` look like any provider of their stage, so the
session and its stages do not know a cloud provider exists. Each call:

1. asks the stage's circuit breaker whether the cloud provider may be tried (after a failure
   every call goes local until the cool-down is over, then one call probes);
2. runs the cloud call on a thread of its own and waits for its first output (STT: the
   transcript, LLM: text, TTS: audio) until `first_byte_timeout`; an error, or nothing by then,
   and the same call is answered by the local provider, in the same turn;
3. after the first output, waits at most `stall_timeout` for each next one; a stall ends the
   cloud output there (what was already said stays said) and the breaker opens.

A turn whose cloud call failed stays local for the rest of its calls (one voice per turn).
Every fallback is noted on the turn's trace (`TurnTrace.failovers`) and logged, with any key
blanked out. The cloud call runs on its own thread because a stalled socket cannot be
interrupted: the wrapper walks away from it and sets its stop flag; its read timeout ends it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from voice.pipeline.frames import UserAudio, WireAudio
from voice.providers.base import LLM, STT, TTS, DialogueTurn, Tool, ToolCall, ToolLLM
from voice.providers.circuit_breaker import CircuitBreaker
from voice.providers.cloud.secrets import redact
from voice.trace.turn_trace import current_trace

log = logging.getLogger(__name__)

T = TypeVar("T")
_POLL_S = 0.02  # how often a wait checks the turn's cancel flag


class _Stalled(Exception):
    pass


class _Cancelled(Exception):
    pass


class _CloudCall(Generic[T]):
    """One cloud call's iterator, run on a daemon thread, its items handed over a queue."""

    def __init__(
        self, make_iter: Callable[[threading.Event], Iterator[T]], stop: threading.Event, name: str
    ) -> None:
        self.stop = stop
        self._items: queue.Queue[tuple[str, Any]] = queue.Queue()
        thread = threading.Thread(target=self._run, args=(make_iter,), name=name, daemon=True)
        thread.start()

    def _run(self, make_iter: Callable[[threading.Event], Iterator[T]]) -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = make_iter(self.stop)
            for item in iterator:
                if self.stop.is_set():
                    break
                self._items.put(("item", item))
            self._items.put(("end", None))
        except BaseException as exc:  # handed to the waiting caller
            self._items.put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.debug("closing an abandoned cloud call failed", exc_info=True)

    def next(self, timeout_s: float, cancel: threading.Event | None) -> tuple[str, Any]:
        """The next ("item", x), ("end", None) or ("error", exc); `_Stalled` after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Stalled
            try:
                return self._items.get(timeout=min(remaining, _POLL_S))
            except queue.Empty:
                continue


@dataclass
class Failover:
    """The policy one wrapper applies: breaker, deadlines, notes on the trace."""

    stage: str
    cloud_name: str
    local_name: str
    first_byte_timeout_s: float
    stall_timeout_s: float
    breaker: CircuitBreaker
    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Per turn (keyed by its cancel flag): the stop flag of its cloud calls, and the turns
    # that already fell back.
    _stops: weakref.WeakKeyDictionary[threading.Event, threading.Event] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    _local_turns: weakref.WeakSet[threading.Event] = field(default_factory=weakref.WeakSet)

    def run(
        self,
        cloud: Callable[[threading.Event], Iterator[T]],
        local: Callable[[], Iterator[T]],
        turn: threading.Event | None = None,
    ) -> Iterator[T]:
        """Yield the cloud call's output, or the local one's when the cloud is late or down."""
        if turn is not None and turn in self._local_turns:
            yield from local()
            return
        with self._lock:
            allowed = self.breaker.allow(self.clock())
        if not allowed:
            self._note("circuit open", tried=False)
            yield from local()
            return
        stop = self._stop_for(turn)
        call = _CloudCall(cloud, stop, name=f"cloud-{self.cloud_name}")
        reason = self._first(call, turn)
        if reason is None:  # cancelled before any output: no verdict
            with self._lock:
                self.breaker.release(self.clock())
            return
        if isinstance(reason, str):
            self._fail(reason, stop, turn)
            yield from local()
            return
        kind, first = reason
        with self._lock:
            self.breaker.success(self.clock())
        if kind == "end":
            return
        yield first
        try:
            while True:
                try:
                    kind, value = call.next(self.stall_timeout_s, turn)
                except _Stalled:
                    stalled_ms = self._ms(self.stall_timeout_s)
                    self._fail(f"stalled {stalled_ms} ms mid-stream", stop, turn)
                    return
                except _Cancelled:
                    stop.set()
                    return
                if kind == "end":
                    return
                if kind == "error":
                    self._fail(f"failed mid-stream: {self._describe(value)}", stop, turn)
                    return
                yield value
        finally:  # the consumer stopped: a cancelled turn stops its cloud work too
            if turn is None or turn.is_set():
                stop.set()

    def _first(
        self, call: _CloudCall[T], turn: threading.Event | None
    ) -> str | tuple[str, Any] | None:
        """The first (kind, item) within the deadline, a failure reason, or None (cancelled)."""
        try:
            kind, value = call.next(self.first_byte_timeout_s, turn)
        except _Stalled:
            return f"no first output within {self._ms(self.first_byte_timeout_s)} ms"
        except _Cancelled:
            call.stop.set()
            return None
        if kind == "error":
            return f"error: {self._describe(value)}"
        return kind, value

    def _fail(self, reason: str, stop: threading.Event, turn: threading.Event | None) -> None:
        stop.set()
        if turn is not None:
            self._local_turns.add(turn)
        with self._lock:
            self.breaker.failure(self.clock())
        self._note(reason, tried=True)

    def _stop_for(self, turn: threading.Event | None) -> threading.Event:
        if turn is None:
            return threading.Event()
        with self._lock:
            stop = self._stops.get(turn)
            if stop is None:
                stop = self._stops[turn] = threading.Event()
            return stop

    def _note(self, reason: str, tried: bool) -> None:
        trace = current_trace()
        if tried or trace is None:
            log.warning(
                "%s: %s -> %s (%s)", self.stage, self.cloud_name, self.local_name, redact(reason)
            )
        if trace is None:
            return
        if any(f["stage"] == self.stage and f["reason"] == reason for f in trace.failovers):
            return  # "circuit open" once per turn and stage, not once per clause
        note = {
            "at_ns": time.monotonic_ns(),
            "stage": self.stage,
            "from": self.cloud_name,
            "to": self.local_name,
            "reason": redact(reason),
        }
        trace.failovers.append(note)
        if trace.on_failover is not None:  # the spoken bridge, at once (voice/agent/bridge.py)
            trace.on_failover(note, tried)

    @staticmethod
    def _describe(exc: BaseException) -> str:
        return redact(f"{type(exc).__name__}: {exc}")[:300]

    @staticmethod
    def _ms(seconds: float) -> int:
        return round(seconds * 1000)


class FailoverSTT:
    """A cloud STT with the local STT behind it."""

    def __init__(self, cloud: STT, local: STT, failover: Failover) -> None:
        self.cloud, self.local, self.failover = cloud, local, failover
        self.name = f"{cloud.name}|{local.name}"

    def transcribe(self, pcm: np.ndarray) -> str:
        texts = list(
            self.failover.run(
                lambda stop: iter([self.cloud.transcribe(pcm)]),
                lambda: iter([self.local.transcribe(pcm)]),
            )
        )
        return texts[0] if texts else ""

    def open_stream(
        self,
        on_end_of_speech: Callable[[str, int, float | None], None],
        run_local: Callable[[np.ndarray], str],
    ) -> FailoverSTTStream | None:
        """A call's live stream to the cloud STT (None if it has none, or it is off), whose
        utterances fall back to `run_local` (the local STT on its worker)."""
        open_cloud = getattr(self.cloud, "open_stream", None)
        if open_cloud is None or not getattr(self.cloud, "streaming", False):
            return None
        return FailoverSTTStream(open_cloud(on_end_of_speech), run_local, self.failover)

    def __getattr__(self, name: str) -> Any:  # model_path, threads, partials: the local's
        return getattr(self.local, name)


class FailoverSTTStream:
    """A call's cloud STT stream (fed every frame) with the local STT behind each utterance.

    `transcribe_utterance` blocks on the network, not on a model: the session runs it off the
    STT worker, and only a fallback's local decode goes to the worker (`run_local`).
    """

    def __init__(
        self, stream: Any, run_local: Callable[[np.ndarray], str], failover: Failover
    ) -> None:
        self.stream, self.run_local, self.failover = stream, run_local, failover

    def push(self, pcm: np.ndarray, media_time_ns: int, wire: WireAudio | None = None) -> None:
        self.stream.push(pcm, media_time_ns, wire)

    def transcribe_utterance(self, audio: UserAudio) -> str:
        texts = list(
            self.failover.run(
                lambda stop: iter([self.stream.transcribe(audio.start_ns, audio.eos_ns, stop)]),
                lambda: iter([self.run_local(audio.pcm)]),
            )
        )
        return texts[0] if texts else ""

    def close(self) -> None:
        self.stream.close()


class FailoverLLM:
    """A cloud LLM with the local LLM behind it (which also scores end of turn)."""

    def __init__(self, cloud: LLM, local: LLM, failover: Failover) -> None:
        self.cloud, self.local, self.failover = cloud, local, failover
        self.name = f"{cloud.name}|{local.name}"

    def stream_reply(
        self, history: Sequence[DialogueTurn], cancel: threading.Event
    ) -> Iterator[str]:
        return self.failover.run(
            lambda stop: self.cloud.stream_reply(history, stop),
            lambda: self.local.stream_reply(history, cancel),
            turn=cancel,
        )

    def stream_reply_with_tools(
        self, history: Sequence[DialogueTurn], cancel: threading.Event, tools: Sequence[Tool]
    ) -> Iterator[str | ToolCall]:
        """The cloud model with `tools` (a `ToolCall` passes through like text, and counts as
        its first output); the local model behind it has no tools and answers in words."""
        cloud = self.cloud

        def cloud_call(stop: threading.Event) -> Iterator[str | ToolCall]:
            if isinstance(cloud, ToolLLM):
                return cloud.stream_reply_with_tools(history, stop, tools)
            return cloud.stream_reply(history, stop)

        return self.failover.run(
            cloud_call, lambda: self.local.stream_reply(history, cancel), turn=cancel
        )

    def warm_up(self, history: Sequence[DialogueTurn]) -> None:
        # The local prefix must be ready: a fallback pays no prompt evaluation on top of the
        # deadline it already waited.
        self.local.warm_up(history)
        self.cloud.warm_up(history)

    def __getattr__(self, name: str) -> Any:  # end_of_turn_probability, model_path, threads
        return getattr(self.local, name)


class FailoverTTS:
    """A cloud TTS with the local TTS behind it, both at the local voice's sample rate."""

    def __init__(self, cloud: TTS, local: TTS, failover: Failover) -> None:
        if cloud.sample_rate != local.sample_rate:
            raise ValueError(
                f"{cloud.name} gives {cloud.sample_rate} Hz, {local.name} {local.sample_rate} Hz"
            )
        self.cloud, self.local, self.failover = cloud, local, failover
        self.name = f"{cloud.name}|{local.name}"
        self.sample_rate = local.sample_rate

    def synthesize(self, text: str, cancel: threading.Event) -> Iterator[np.ndarray]:
        return self.failover.run(
            lambda stop: self.cloud.synthesize(text, stop),
            lambda: self.local.synthesize(text, cancel),
            turn=cancel,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.local, name)
