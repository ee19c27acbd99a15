"""A circuit breaker for a cloud provider, sans-IO: time is an argument, nothing sleeps.

Why: a cloud provider that stalled once is likely to stall again; every turn that tries it
pays the first-byte deadline before falling back. After `failures_to_open` consecutive
failures the breaker opens and every call goes straight to the local provider. After
`cooldown_s` it lets exactly one call through (half-open): if that probe succeeds the breaker
closes, if it fails the cool-down starts again. A probe that ends neither way (the turn was
cancelled) frees the slot for the next call.

    breaker = CircuitBreaker(failures_to_open=1, cooldown_s=30)
    if breaker.allow(now):            # try the cloud provider
        ...; breaker.success(now)     # or breaker.failure(now), or breaker.release(now)
    else:                             # use the local provider
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"  # calls go to the cloud provider
    OPEN = "open"  # calls go to the local provider until the cool-down is over
    HALF_OPEN = "half_open"  # one probe call goes to the cloud provider


@dataclass
class CircuitBreaker:
    failures_to_open: int = 1
    cooldown_s: float = 30.0
    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float | None = None
    probing: bool = False  # half-open and the probe call is in flight

    def allow(self, now: float) -> bool:
        """May this call go to the cloud provider? A True in half-open is the probe."""
        if self.state is BreakerState.OPEN:
            assert self.opened_at is not None
            if now - self.opened_at < self.cooldown_s:
                return False
            self.state = BreakerState.HALF_OPEN
        if self.state is BreakerState.HALF_OPEN:
            if self.probing:
                return False
            self.probing = True
        return True

    def success(self, now: float) -> None:
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at = None
        self.probing = False

    def failure(self, now: float) -> None:
        self.consecutive_failures += 1
        if (
            self.state is BreakerState.HALF_OPEN
            or self.consecutive_failures >= self.failures_to_open
        ):
            self.state = BreakerState.OPEN
            self.opened_at = now
        self.probing = False

    def release(self, now: float) -> None:
        """The allowed call ended without a verdict (cancelled): count nothing."""
        self.probing = False

    def remaining_cooldown(self, now: float) -> float:
        if self.state is not BreakerState.OPEN or self.opened_at is None:
            return 0.0
        return max(0.0, self.cooldown_s - (now - self.opened_at))
