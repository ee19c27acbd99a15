"""The stand-in services' ledger: one effect per idempotency key, every attempt counted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from voice.harness.standins import Ledger, LedgerEntry, StandInFailure


def test_a_retried_call_returns_the_first_result_and_applies_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")

    async def calls() -> list[dict]:
        first = await ledger.call("wf/charge", "payment", "charge", 0.0, False, {"n": "1"})
        again = await ledger.call("wf/charge", "payment", "charge", 0.0, False, {"n": "2"})
        return [first, again]

    assert asyncio.run(calls()) == [{"n": "1"}, {"n": "1"}]
    assert ledger.effects() == [LedgerEntry("wf/charge", "payment", "charge", "done")]
    assert ledger.attempts() == [("wf/charge", "charge"), ("wf/charge", "charge")]


def test_a_refused_call_is_refused_again_and_recorded_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")
    for _ in range(2):
        with pytest.raises(StandInFailure, match="refused 'confirm'"):
            asyncio.run(ledger.call("wf/confirm", "restaurant", "confirm", 0.0, True, {}))
    assert [entry.outcome for entry in ledger.effects("wf/")] == ["refused"]
    assert len(ledger.attempts("wf/")) == 2


def test_a_cancelled_call_leaves_no_effect(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db")

    async def cancelled_mid_call() -> None:
        call = asyncio.ensure_future(ledger.call("wf/hold", "restaurant", "hold", 5.0, False, {}))
        await asyncio.sleep(0.2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(cancelled_mid_call())
    assert ledger.effects() == []
    assert ledger.attempts() == [("wf/hold", "hold")]
