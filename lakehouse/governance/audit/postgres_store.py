"""The platform audit store: the ``audit`` schema of its own PostgreSQL database.

The writer only inserts content; the trigger in ``postgres_schema.sql`` numbers and chains the
row under a lock. Listing and verifying need the reader role, purging the retention role:
each caller connects with its own credentials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator, Sequence

import psycopg2
import psycopg2.errors
from sqlalchemy.engine import make_url

from lakehouse.governance.audit.chain import AuditRecord, StoredRecord, Verification, verify_chain
from lakehouse.governance.audit.store import AuditStoreError, PurgeResult, list_query

_COLUMNS = "seq, at, actor, run_id, object, action, details, event_key, prev_hash, hash"
_FETCH = 5_000


def _stored(row: tuple) -> StoredRecord:
    seq, at, actor, run_id, object_, action, details, key, prev_hash, hash_ = row
    record = AuditRecord(action, object_, actor, at, run_id, json.loads(details), key)
    return StoredRecord(seq, prev_hash, hash_, record, details)


class PostgresAuditStore:
    """Audit rows in ``audit.events`` of the database at ``url`` (no password in it)."""

    def __init__(self, url: str, *, password: str | None = None, connect_timeout: int = 10):
        parsed = make_url(url)
        self.description = f"postgresql://{parsed.host}:{parsed.port or 5432}/{parsed.database}"
        self._connect_args = {
            "host": parsed.host,
            "port": parsed.port or 5432,
            "dbname": parsed.database,
            "user": parsed.username,
            "password": password if password is not None else parsed.password,
            "connect_timeout": connect_timeout,
            "application_name": "lakehouse-audit",
            # libpq options in the URL's query (sslmode=require on the platform)
            **{k: v for k, v in parsed.query.items() if isinstance(v, str)},
        }

    def __repr__(self) -> str:
        return f"PostgresAuditStore({self.description!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[psycopg2.extensions.connection]:
        try:
            connection = psycopg2.connect(**self._connect_args)
        except psycopg2.OperationalError as error:
            first = str(error).strip().splitlines()[0]
            raise AuditStoreError(
                f"cannot reach the audit store {self.description}: {first}"
            ) from None
        try:
            with connection:  # commit on success, roll back on error
                yield connection
        except psycopg2.errors.InsufficientPrivilege as error:
            raise AuditStoreError(
                f"the audit store {self.description} refused user {self._connect_args['user']}: "
                f"{str(error).strip().splitlines()[0]}"
            ) from None
        finally:
            connection.close()

    def append(self, records: Sequence[AuditRecord]) -> int:
        if not records:
            return 0
        rows = [
            (r.at, r.actor, r.run_id, r.object, r.action, r.details_json, r.key) for r in records
        ]
        written = 0
        with self._connect() as connection, connection.cursor() as cursor:
            # One statement per row: a row the trigger skips (known key) reports 0.
            for row in rows:
                cursor.execute(
                    "INSERT INTO audit.events (at, actor, run_id, object, action, details, "
                    "event_key) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    row,
                )
                written += cursor.rowcount
        return written

    def list(
        self,
        *,
        since: dt.datetime | None = None,
        object: str | None = None,
        limit: int | None = None,
    ) -> list[StoredRecord]:
        query, params = list_query(
            "audit.events", _COLUMNS, mark="%s", since=since, object=object, limit=limit
        )
        with self._connect() as connection, connection.cursor() as cursor:
            cursor.execute(query, params)
            return [_stored(row) for row in cursor.fetchall()]

    def verify(self) -> Verification:
        with self._connect() as connection:
            connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with connection.cursor() as cursor:
                cursor.execute("SELECT seq, hash FROM audit.chain_head WHERE id = 1")
                head = cursor.fetchone()
            # A named (server-side) cursor streams seven years of rows in batches.
            with connection.cursor(name="audit_verify") as rows:
                rows.itersize = _FETCH
                rows.execute(f"SELECT {_COLUMNS} FROM audit.events ORDER BY seq")
                return verify_chain((_stored(row) for row in rows), tuple(head) if head else None)

    def purge(self, cutoff: dt.datetime, *, actor: str) -> PurgeResult:
        with self._connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT * FROM audit.purge(%s, %s)", (cutoff, actor))
            rows, through = cursor.fetchone()
        return PurgeResult(rows, through, cutoff)

    def close(self) -> None:
        """Nothing held between calls: each opens and closes its own connection."""
