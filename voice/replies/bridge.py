"""When to say "One moment.": a spoken bridge over a cloud failover that made a reply late.

A cloud provider that misses its first-output deadline, errs or stalls is answered by the
local provider of its stage in the same turn (voice/providers/failover.py). By then the caller
has already waited the deadline (1000 ms by default, twice the 500 ms TTFA budget) and waits
the local stage's time on top. A short canned phrase, spoken at once, tells them the agent
heard them. The rules:

- only a failover that cost time counts: a tried call (deadline missed, error, stall), not
  "circuit open", which goes local at once;
- only on a committed turn: a speculative turn's failover is bridged when the turn commits,
  if its reply has no audio ready by then;
- never once the reply's own audio is ready (the reply is the better answer to silence), and
  never twice in a turn;
- an unprompted turn (a delegated task's news, voice/delegate) has nobody waiting on it: it is
  bridged only if it is also late, its first audio past the budget from when it was due.

Sans-IO: events with their times in, "speak the bridge now" (True) out. The adapter that
hears the failovers and plays the audio is voice/agent/bridge.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BridgePolicy:
    """One turn's bridge decision."""

    prompted: bool  # a reply to the caller; False: the bot speaks unprompted (news)
    due_ns: int  # when the turn's audio was due: the caller's end of speech, or the news's gap
    late_after_ns: int  # the TTFA budget: an unprompted turn is late past it
    committed: bool = False
    reply_audio: bool = False  # the reply's own first audio is ready
    spoken: bool = False
    failover_ns: int | None = None  # the first failover that cost time

    def failover(self, tried: bool, now_ns: int) -> bool:
        """A stage fell back to its local provider; `tried`: the cloud call was made first."""
        if tried and self.failover_ns is None:
            self.failover_ns = now_ns
        return self._due(now_ns)

    def commit(self, now_ns: int) -> bool:
        """The user's turn is over: this turn's audio may play."""
        self.committed = True
        return self._due(now_ns)

    def reply_ready(self) -> None:
        """The reply's first frame is ready: no bridge from now on."""
        self.reply_audio = True

    def _due(self, now_ns: int) -> bool:
        if self.spoken or self.reply_audio or not self.committed or self.failover_ns is None:
            return False
        if not self.prompted and now_ns - self.due_ns < self.late_after_ns:
            return False
        self.spoken = True
        return True
