"""Stand-in services the example workflows call: nothing real is booked, charged or searched.

They exist so that the harness can be demonstrated and tested end to end without a
restaurant or a search engine. Each call carries an idempotency key; the ledger (a SQLite
file) records every attempt and applies each key's effect once, as a real payment or booking
API does, so a retried activity never books or charges twice. Tests read the ledger to count
what ran. Calls take `step_s` seconds (the demo's realistic pace, a fraction of that in tests)
and fail on purpose at `fail_step` so the saga's compensations can be shown.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESTAURANT_NOTICE = "Stand-in restaurant booking service: no real booking is made."
PAYMENT_NOTICE = "Stand-in payment service: no real money moves."
RESEARCH_NOTICE = "Stand-in research service: canned notes, no real search is made."

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    service TEXT NOT NULL,
    action TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS effects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    result TEXT NOT NULL,
    at REAL NOT NULL
);
"""


class StandInFailure(Exception):
    """The stand-in service refused the call on purpose (`fail_step`)."""


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    service: str
    action: str
    outcome: str  # "done" or "refused"


class Ledger:
    """Attempts and effects of the stand-in services, keyed by idempotency key.

    One SQLite file shared by every process of a harness (and read by tests); each call opens
    its own short connection, run in a worker thread so the event loop never blocks on disk.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10.0, isolation_level=None)

    def _attempt(self, key: str, service: str, action: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO attempts (key, service, action, at) VALUES (?, ?, ?, ?)",
                (key, service, action, time.time()),
            )

    def _effect(self, key: str) -> tuple[str, dict[str, Any]] | None:
        with self._connect() as db:
            row = db.execute("SELECT outcome, result FROM effects WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def _record(
        self, key: str, service: str, action: str, outcome: str, result: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        with self._connect() as db:
            # INSERT OR IGNORE: a concurrent duplicate keeps the first effect, like a real API.
            db.execute(
                "INSERT OR IGNORE INTO effects (key, service, action, outcome, result, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, service, action, outcome, json.dumps(result), time.time()),
            )
        stored = self._effect(key)
        assert stored is not None
        return stored

    def attempts(self, key_prefix: str = "") -> list[tuple[str, str]]:
        """(key, action) of every attempt, in order."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT key, action FROM attempts WHERE key LIKE ? ORDER BY seq",
                (key_prefix + "%",),
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def effects(self, key_prefix: str = "") -> list[LedgerEntry]:
        """Every applied effect (or refusal), in the order it happened."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT key, service, action, outcome FROM effects WHERE key LIKE ? ORDER BY seq",
                (key_prefix + "%",),
            ).fetchall()
        return [LedgerEntry(*row) for row in rows]

    async def call(
        self,
        key: str,
        service: str,
        action: str,
        work_s: float,
        fail: bool,
        result: dict[str, Any],
        heartbeat: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Perform `action` once per `key`: wait `work_s`, then apply (or refuse) and record it.

        A key already applied returns its first result at once (the retry of a call whose
        answer was lost); a key refused before is refused again.
        """
        await asyncio.to_thread(self._attempt, key, service, action)
        known = await asyncio.to_thread(self._effect, key)
        if known is None:
            await _work(work_s, heartbeat)
            outcome = "refused" if fail else "done"
            known = await asyncio.to_thread(self._record, key, service, action, outcome, result)
        outcome, stored_result = known
        if outcome == "refused":
            raise StandInFailure(f"{service} refused '{action}' (stand-in set to fail there)")
        return stored_result


async def _work(work_s: float, heartbeat: Callable[[], None] | None) -> None:
    """Simulated service time, with a heartbeat at least every half second."""
    deadline = time.monotonic() + work_s
    while (left := deadline - time.monotonic()) > 0:
        if heartbeat is not None:
            heartbeat()
        await asyncio.sleep(min(0.5, left))
