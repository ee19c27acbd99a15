"""The failover bridge's policy (voice/replies/bridge.py), driven with synthetic events and
times: no models, no clock."""

from __future__ import annotations

from voice.replies.bridge import BridgePolicy

MS = 1_000_000
EOS = 10_000 * MS
BUDGET = 500 * MS


def reply(committed: bool = True) -> BridgePolicy:
    policy = BridgePolicy(prompted=True, due_ns=EOS, late_after_ns=BUDGET)
    if committed:
        assert not policy.commit(EOS + 200 * MS)  # nothing failed yet: no bridge
    return policy


def test_a_failover_that_cost_time_is_bridged_at_once():
    policy = reply()
    assert policy.failover(tried=True, now_ns=EOS + 1300 * MS)
    assert policy.spoken


def test_circuit_open_costs_no_time_and_is_not_bridged():
    policy = reply()
    assert not policy.failover(tried=False, now_ns=EOS + 300 * MS)
    assert not policy.spoken


def test_the_bridge_is_spoken_once_per_turn():
    policy = reply()
    assert policy.failover(tried=True, now_ns=EOS + 1300 * MS)
    assert not policy.failover(tried=True, now_ns=EOS + 2400 * MS)  # the TTS stalls as well
    assert not policy.commit(EOS + 2500 * MS)


def test_never_once_the_reply_has_audio():
    policy = reply()
    policy.reply_ready()
    assert not policy.failover(tried=True, now_ns=EOS + 1300 * MS)  # a later clause's TTS


def test_a_speculative_turns_failover_is_bridged_at_commit():
    policy = reply(committed=False)
    assert not policy.failover(tried=True, now_ns=EOS + 1100 * MS)  # still speculative
    assert policy.commit(EOS + 1200 * MS)


def test_no_bridge_at_commit_when_the_reply_is_ready_by_then():
    policy = reply(committed=False)
    policy.failover(tried=True, now_ns=EOS + 1100 * MS)
    policy.reply_ready()
    assert not policy.commit(EOS + 1200 * MS)


def test_a_speculative_turn_that_only_went_local_through_the_breaker_is_not_bridged():
    policy = reply(committed=False)
    policy.failover(tried=False, now_ns=EOS + 100 * MS)
    assert not policy.commit(EOS + 250 * MS)


def test_an_unprompted_turn_is_bridged_only_when_late():
    start = EOS
    news = BridgePolicy(prompted=False, due_ns=start, late_after_ns=BUDGET)
    news.commit(start)  # unprompted turns are committed at once
    assert not news.failover(tried=True, now_ns=start + 300 * MS)  # nobody waits on it yet
    late = BridgePolicy(prompted=False, due_ns=start, late_after_ns=BUDGET)
    late.commit(start)
    assert late.failover(tried=True, now_ns=start + 1100 * MS)
