"""The delegated tasks' ids, kept in SQLite so that a restarted agent still reports them.

A task is written as soon as the harness names it (the first streamed event), with the caller it
belongs to, and marked reported once the caller heard its outcome; every task of that caller
not yet reported is followed again when a session of theirs starts, and never by another
caller's session (one caller must not hear another's booking). `voice talk` is one caller
(`LOCAL_CALLER`); the server names each call's caller (docs/delegation.md).

Each call opens its own connection (SQLite's are cheap) so the calls may run
on any worker thread; the session calls them through `asyncio.to_thread`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from voice.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    caller TEXT NOT NULL DEFAULT 'local'
)
"""
LOCAL_CALLER = "local"


@dataclass(frozen=True)
class StoredTask:
    task_id: str
    request: str
    kind: str
    state: str


class TaskStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"delegate.db_path: cannot use {self.path} ({exc})") from None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=5.0)) as db, db:  # commit on exit
            yield db

    def add(
        self, task_id: str, request: str, kind: str, state: str, caller: str = LOCAL_CALLER
    ) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR IGNORE INTO tasks (task_id, request, kind, state, created_at, caller) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (task_id, request, kind, state, time.time(), caller),
            )

    def set_state(self, task_id: str, state: str, reported: bool = False) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE tasks SET state = ?, reported = MAX(reported, ?) WHERE task_id = ?",
                (state, int(reported), task_id),
            )

    def mark_reported(self, task_id: str) -> None:
        with self._db() as db:
            db.execute("UPDATE tasks SET reported = 1 WHERE task_id = ?", (task_id,))

    def unreported(self, caller: str = LOCAL_CALLER) -> list[StoredTask]:
        """The tasks of `caller` whose outcome they have not heard, oldest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT task_id, request, kind, state FROM tasks WHERE reported = 0 "
                "AND caller = ? ORDER BY created_at",
                (caller,),
            ).fetchall()
        return [StoredTask(*row) for row in rows]
