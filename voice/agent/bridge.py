"""The spoken failover bridge, I/O side: hears a turn's failovers and plays the canned audio.

The policy (voice/replies/bridge.py) decides; this adapter feeds it and carries it out:
- a failover is noted on a model worker's thread (voice/providers/failover.py) and reaches
  the turn's event loop with `call_soon_threadsafe`, so the bridge starts at once, unpolled;
- a speculative turn's commit is awaited by a small task of the turn's scope;
- the bridge (`Models.bridge_pcm`, synthesized once per process by the local voice) goes out
  through the turn's own `Playout` as filler, so the samples that map a barge-in to the words
  heard stay the reply's; the reply's first frame waits until the bridge has played, and the
  caller hears "One moment." then the reply, in order.

`trace.bridge_ns` records the bridge's first frame and the failover note that set it off gets
`"bridge": True`; TTFA (`trace.first_audio_ns`) stays the reply's own first audio, and the
bridge never enters the dialogue history.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from voice.agent.stages import now_ns
from voice.audio import split_frames
from voice.bargein.controller import Playout
from voice.config import Config
from voice.pipeline.turn_scope import TurnCancelled, TurnScope
from voice.replies.bridge import BridgePolicy
from voice.trace.turn_trace import TurnTrace


class TurnBridge:
    """One bot turn's bridge; inert when there is no bridge audio or `failover.bridge` is off."""

    def __init__(
        self,
        pcm: np.ndarray | None,
        config: Config,
        scope: TurnScope,
        trace: TurnTrace,
        out: Playout,
        prompted: bool,
    ) -> None:
        self._scope, self._trace, self._out = scope, trace, out
        use = pcm is not None and config.failover.bridge
        self._frames = list(split_frames(pcm)) if pcm is not None and use else []
        late_after_ns = config.budget.total_ms * 1_000_000
        self._policy = BridgePolicy(prompted, trace.eos_ns, late_after_ns)
        self._note: dict[str, Any] | None = None  # the first failover that cost time
        self._playing: asyncio.Task[None] | None = None
        if not self._frames:
            return
        self._loop = asyncio.get_running_loop()
        trace.on_failover = self._heard
        if scope.committed:
            self._policy.commit(now_ns())
        else:
            scope.spawn(self._at_commit(), "bridge:commit")

    async def reply_ready(self) -> None:
        """The reply's first frame is ready: no bridge from now on; one playing ends first."""
        self._policy.reply_ready()
        if self._playing is not None:
            await self._playing

    def _heard(self, note: dict[str, Any], tried: bool) -> None:
        """A failover was noted (on a worker thread): on to the event loop."""
        try:
            self._loop.call_soon_threadsafe(self._on_failover, note, tried)
        except RuntimeError:  # the loop is closed: the call is over, nobody to bridge
            pass

    def _on_failover(self, note: dict[str, Any], tried: bool) -> None:
        if self._scope.cancelled:
            return
        if tried and self._note is None:
            self._note = note
        if self._policy.failover(tried, now_ns()):
            self._play()

    async def _at_commit(self) -> None:
        try:
            await self._scope.wait_committed()
        except TurnCancelled:
            return
        if self._policy.commit(now_ns()):
            self._play()

    def _play(self) -> None:
        if self._scope.cancelled:
            return
        if self._note is not None:
            self._note["bridge"] = True
        self._playing = self._scope.spawn(self._send(), "bridge")

    async def _send(self) -> None:
        for pcm in self._frames:
            handed_ns = await self._out.send(pcm, filler=True)
            if self._trace.bridge_ns is None:
                self._trace.bridge_ns = handed_ns
