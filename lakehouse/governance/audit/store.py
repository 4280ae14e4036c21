"""The audit store's one small interface (``configured.py`` picks the implementation).

Embedded: a SQLite file of its own beside the catalog (``<home>/audit.db``), not inside the
catalog's file: every Iceberg commit locks that whole file, restoring a catalog backup would
rewind the audit trail with it, and the audit trail keeps seven years while the catalog's
backups do not. Platform: the ``audit`` schema of a PostgreSQL database of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lakehouse.governance.audit.chain import AuditRecord, StoredRecord, Verification

RETENTION_YEARS = 7


@dataclass(frozen=True)
class PurgeResult:
    rows: int
    through_seq: int | None
    cutoff: dt.datetime


class AuditStoreError(RuntimeError):
    """The audit store cannot be opened or written; the message names which one and why."""


class AuditStore(Protocol):
    """Append-only, hash-chained audit rows."""

    def append(self, records: Sequence[AuditRecord]) -> int:
        """Chain and store ``records`` in order, atomically; how many were new (by key)."""
        ...

    def list(
        self,
        *,
        since: dt.datetime | None = None,
        object: str | None = None,
        limit: int | None = None,
    ) -> list[StoredRecord]:
        """Rows at or after ``since`` about ``object`` (a prefix ending in ``*`` matches
        many), oldest first."""
        ...

    def verify(self) -> Verification:
        """Recompute the chain and name the first broken row."""
        ...

    def purge(self, cutoff: dt.datetime, *, actor: str) -> PurgeResult:
        """Delete the oldest rows before ``cutoff`` and chain a checkpoint row naming them."""
        ...

    def close(self) -> None: ...


def retention_cutoff(now: dt.datetime, years: int = RETENTION_YEARS) -> dt.datetime:
    """``now`` less whole calendar years (29 February goes to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def list_query(
    table: str,
    columns: str,
    *,
    mark: str,
    since: object | None,
    object: str | None,
    limit: int | None,
) -> tuple[str, list]:
    """The ``list`` query for either store (``mark`` is the driver's placeholder); an
    ``object`` ending in ``*`` is a prefix."""
    where, params = ["1 = 1"], []
    if since is not None:
        where.append(f"at >= {mark}")
        params.append(since)
    if object is not None and object.endswith("*"):
        where.append(f"substr(object, 1, length({mark})) = {mark}")
        params += [object[:-1]] * 2
    elif object is not None:
        where.append(f"object = {mark}")
        params.append(object)
    query = f"SELECT {columns} FROM {table} WHERE {' AND '.join(where)} ORDER BY seq"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return query, params
