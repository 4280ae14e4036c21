"""The demo's Dagster bookkeeping without an fsync per event.

Dagster's SQLite storage opens a connection and commits once or twice per event, each commit
synced to disk; a backfill over a few hundred months books a planned event and a
materialisation per month and asset, and on a busy 2-core machine those syncs were most of the
first demo's transforms stage (3 assets x 324 months: 102-139 s with syncs, 26 s without).
Dagster has no setting for it, so a SQLAlchemy ``connect`` hook sets ``synchronous=OFF`` on the
connections to databases under the demo's Dagster home, and on no other (the Iceberg SQLite
catalog keeps its durable commits). A crash of the process loses nothing; a power cut can lose
the last events of the run bookkeeping, which the next demo rebuilds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_RELAXED: set[str] = set()


def _database_file(connection: sqlite3.Connection) -> str:
    """The file of the connection's main database ('' for an in-memory one)."""
    row = connection.execute("PRAGMA database_list").fetchone()
    return str(row[2] or "") if row else ""


def _on_connect(connection: Any, _record: Any) -> None:
    if not isinstance(connection, sqlite3.Connection):
        return
    path = _database_file(connection)
    if path and any(path.startswith(directory) for directory in _RELAXED):
        connection.execute("PRAGMA synchronous=OFF")


def skip_fsync_under(directory: Path) -> None:
    """SQLite databases under ``directory`` opened through SQLAlchemy from now on in this
    process commit without syncing to disk."""
    if not _RELAXED:
        event.listen(Engine, "connect", _on_connect)
    _RELAXED.add(str(directory.resolve()) + "/")
