"""The embedded audit store: a SQLite file of its own, chained in Python.

``BEGIN IMMEDIATE`` takes SQLite's write lock before the chain head is read, so two writers
(threads or processes) queue instead of both chaining onto the same head; the unique
``prev_hash`` would refuse a fork anyway. Triggers refuse updates, and deletes outside a purge:
a guard against mistakes, since whoever can write the file can drop them (``verify`` then tells).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from lakehouse.governance.audit.chain import (
    AUDIT_OBJECT,
    GENESIS,
    PURGE_ACTION,
    AuditRecord,
    StoredRecord,
    Verification,
    canonical_time,
    parse_time,
    purge_details,
    row_hash,
    verify_chain,
)
from lakehouse.governance.audit.store import AuditStoreError, PurgeResult, list_query

BUSY_TIMEOUT_SECONDS = 60.0

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    run_id TEXT,
    object TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL CHECK (json_valid(details)),
    event_key TEXT UNIQUE,
    prev_hash TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
CREATE INDEX IF NOT EXISTS audit_events_object ON audit_events (object);
CREATE TABLE IF NOT EXISTS audit_chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_chain_head VALUES (1, 0, '{GENESIS}');
CREATE TABLE IF NOT EXISTS audit_purge_guard (id INTEGER PRIMARY KEY CHECK (id = 1), on_ INTEGER);
INSERT OR IGNORE INTO audit_purge_guard VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
WHEN (SELECT on_ FROM audit_purge_guard WHERE id = 1) = 0
BEGIN SELECT RAISE(ABORT, 'audit rows are deleted only by the retention purge'); END;
"""

_COLUMNS = "seq, at, actor, run_id, object, action, details, event_key, prev_hash, hash"


def _stored(row: tuple) -> StoredRecord:
    seq, at, actor, run_id, object_, action, details, key, prev_hash, hash_ = row
    record = AuditRecord(
        action=action,
        object=object_,
        actor=actor,
        at=parse_time(at),
        run_id=run_id,
        details=json.loads(details),
        key=key,
    )
    return StoredRecord(seq, prev_hash, hash_, record, details)


class SqliteAuditStore:
    """Audit rows in ``path`` (created with the schema, readable by its owner only)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                self.path.touch(mode=0o600)
            with self._connect() as connection:
                connection.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise AuditStoreError(f"cannot open the audit store {self.path}: {error}") from None

    def __repr__(self) -> str:
        return f"SqliteAuditStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    @staticmethod
    def _chain(connection: sqlite3.Connection, records: Sequence[AuditRecord]) -> int:
        seq, head = connection.execute("SELECT seq, hash FROM audit_chain_head").fetchone()
        written = 0
        for record in records:
            if (
                record.key is not None
                and connection.execute(
                    "SELECT 1 FROM audit_events WHERE event_key = ?", (record.key,)
                ).fetchone()
            ):
                continue
            seq, prev = seq + 1, head
            head = row_hash(seq, prev, record)
            connection.execute(
                f"INSERT INTO audit_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    canonical_time(record.at),
                    record.actor,
                    record.run_id,
                    record.object,
                    record.action,
                    record.details_json,
                    record.key,
                    prev,
                    head,
                ),
            )
            written += 1
        connection.execute("UPDATE audit_chain_head SET seq = ?, hash = ?", (seq, head))
        return written

    def append(self, records: Sequence[AuditRecord]) -> int:
        if not records:
            return 0
        with self._writing() as connection:
            return self._chain(connection, records)

    def list(
        self,
        *,
        since: dt.datetime | None = None,
        object: str | None = None,
        limit: int | None = None,
    ) -> list[StoredRecord]:
        query, params = list_query(
            "audit_events",
            _COLUMNS,
            mark="?",
            since=canonical_time(since) if since is not None else None,
            object=object,
            limit=limit,
        )
        with self._connect() as connection:
            return [_stored(row) for row in connection.execute(query, params)]

    def verify(self) -> Verification:
        with self._connect() as connection:
            connection.execute("BEGIN")  # one consistent view of rows and head
            head = connection.execute("SELECT seq, hash FROM audit_chain_head").fetchone()
            rows = connection.execute(f"SELECT {_COLUMNS} FROM audit_events ORDER BY seq")
            result = verify_chain((_stored(row) for row in rows), tuple(head) if head else None)
            connection.execute("COMMIT")
            return result

    def purge(self, cutoff: dt.datetime, *, actor: str) -> PurgeResult:
        with self._writing() as connection:
            first_kept = connection.execute(
                "SELECT min(seq) FROM audit_events WHERE at >= ?", (canonical_time(cutoff),)
            ).fetchone()[0]
            bound = "seq < ?" if first_kept is not None else "1 = 1"
            params = (first_kept,) if first_kept is not None else ()
            through = connection.execute(
                f"SELECT seq, hash FROM audit_events WHERE {bound} ORDER BY seq DESC LIMIT 1",
                params,
            ).fetchone()
            if through is None:
                return PurgeResult(0, None, cutoff)
            connection.execute("UPDATE audit_purge_guard SET on_ = 1")
            rows = connection.execute(f"DELETE FROM audit_events WHERE {bound}", params).rowcount
            connection.execute("UPDATE audit_purge_guard SET on_ = 0")
            checkpoint = AuditRecord(
                action=PURGE_ACTION,
                object=AUDIT_OBJECT,
                actor=actor,
                at=dt.datetime.now(dt.UTC),
                details=purge_details(through[0], through[1], rows, cutoff),
            )
            self._chain(connection, [checkpoint])
            return PurgeResult(rows, through[0], cutoff)

    def close(self) -> None:
        """Nothing held between calls: each opens and closes its own connection."""
