"""The circuit breaker, driven with injected time."""

from voice.providers.circuit_breaker import BreakerState, CircuitBreaker


def test_closed_breaker_lets_calls_through_and_opens_after_the_failures():
    breaker = CircuitBreaker(failures_to_open=2, cooldown_s=10)
    assert breaker.allow(0.0)
    breaker.failure(0.0)
    assert breaker.state is BreakerState.CLOSED and breaker.allow(1.0)
    breaker.failure(1.0)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(2.0)
    assert breaker.remaining_cooldown(2.0) == 9.0


def test_a_success_resets_the_failure_count():
    breaker = CircuitBreaker(failures_to_open=2, cooldown_s=10)
    breaker.failure(0.0)
    breaker.success(1.0)
    breaker.failure(2.0)
    assert breaker.state is BreakerState.CLOSED


def test_after_the_cooldown_one_probe_goes_through_and_success_closes():
    breaker = CircuitBreaker(failures_to_open=1, cooldown_s=10)
    breaker.failure(0.0)
    assert not breaker.allow(9.9)
    assert breaker.allow(10.0)  # the probe
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow(10.1)  # only one probe at a time
    breaker.success(10.5)
    assert breaker.state is BreakerState.CLOSED and breaker.allow(10.6)


def test_a_failed_probe_restarts_the_cooldown():
    breaker = CircuitBreaker(failures_to_open=3, cooldown_s=10)
    for at in (0.0, 0.1, 0.2):
        breaker.failure(at)
    assert breaker.allow(10.2)
    breaker.failure(10.4)  # one failure in half-open is enough
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(20.0)
    assert breaker.allow(20.5)


def test_a_probe_without_verdict_frees_the_slot():
    breaker = CircuitBreaker(failures_to_open=1, cooldown_s=10)
    breaker.failure(0.0)
    assert breaker.allow(10.0)
    breaker.release(10.1)  # the turn was cancelled mid-probe
    assert breaker.allow(10.2)
