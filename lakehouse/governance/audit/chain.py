"""Audit rows and their hash chain: each row's hash covers its content and the previous hash.

The same text is hashed in Python (SQLite, ``verify``) and in PL/pgSQL (the PostgreSQL
trigger, ``postgres_schema.sql``): fields joined by the unit separator, the time as UTC ISO 8601
with microseconds, the details as canonical JSON in ASCII. Change one and change the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
SEPARATOR = "\x1f"
PURGE_ACTION = "audit.purge"
AUDIT_OBJECT = "audit"


def canonical_time(at: dt.datetime) -> str:
    """The hashed spelling of a time: UTC, microseconds, ``Z``; a naive time is refused."""
    if at.tzinfo is None:
        raise ValueError(f"audit time {at!r} has no time zone")
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def canonical_json(details: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, ASCII only: PostgreSQL and SQLite store it byte for byte."""
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    )


@dataclass(frozen=True)
class AuditRecord:
    """What happened: when, who (a person or service account, and the run), to what, and how.

    ``key`` makes an append idempotent: a record whose key is already stored is skipped (the
    event-log sensor replays events after a crash between writing rows and saving its cursor).
    """

    action: str
    object: str
    actor: str
    at: dt.datetime
    run_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None

    def __post_init__(self) -> None:
        canonical_time(self.at)
        for name in ("action", "object", "actor"):
            if not getattr(self, name):
                raise ValueError(f"an audit record needs a non-empty {name}")

    @property
    def details_json(self) -> str:
        return canonical_json(self.details)


@dataclass(frozen=True)
class StoredRecord:
    """A record as the store holds it: its place in the chain, the two hashes, and the details
    text exactly as stored (the hash covers that text, whoever wrote it)."""

    seq: int
    prev_hash: str
    hash: str
    record: AuditRecord
    details_text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "seq": self.seq,
            "at": canonical_time(r.at),
            "actor": r.actor,
            "run_id": r.run_id,
            "object": r.object,
            "action": r.action,
            "details": dict(r.details),
            "key": r.key,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def row_hash(seq: int, prev_hash: str, record: AuditRecord, details_text: str | None = None) -> str:
    """sha256 over the row's content and the previous row's hash."""
    fields = (
        str(seq),
        prev_hash,
        canonical_time(record.at),
        record.actor,
        record.run_id or "",
        record.object,
        record.action,
        record.details_json if details_text is None else details_text,
        record.key or "",
    )
    return hashlib.sha256(SEPARATOR.join(fields).encode()).hexdigest()


def purge_details(through_seq: int, head_hash: str, rows: int, cutoff: dt.datetime) -> dict:
    """The checkpoint a purge leaves: the first kept row's ``prev_hash`` must equal ``head_hash``."""
    return {
        "purged_through_seq": through_seq,
        "purged_head_hash": head_hash,
        "purged_rows": rows,
        "cutoff": canonical_time(cutoff),
    }


@dataclass(frozen=True)
class Verification:
    """The chain's verdict: every row checked, or the first broken one and why."""

    rows: int
    head_seq: int | None
    head_hash: str | None
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and self.reason is None

    def summary(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.rows} rows, head {self.head_seq} {self.head_hash}"
        return f"audit chain broken at row {self.broken_seq}: {self.reason}"


def _anchor(first: StoredRecord, checkpoints: list[Mapping[str, Any]]) -> str | None:
    """Why the first kept row cannot start the chain, or None when it can."""
    if first.seq == 1:
        return None if first.prev_hash == GENESIS else "the first row does not start from genesis"
    for details in checkpoints:
        if (
            details.get("purged_through_seq") == first.seq - 1
            and details.get("purged_head_hash") == first.prev_hash
        ):
            return None
    return f"rows before {first.seq} are missing and no purge checkpoint accounts for them"


def verify_chain(rows: Iterable[StoredRecord], head: tuple[int, str] | None) -> Verification:
    """Check each row's hash, the links, the numbering, the start and the recorded head.

    Streams the rows (seven years of them); the first row is anchored at the end, once the
    purge checkpoints after it have been seen.
    """
    checked, first, previous = 0, None, None
    checkpoints: list[Mapping[str, Any]] = []
    broken: tuple[int, str] | None = None
    for row in rows:
        if previous is not None and row.seq != previous.seq + 1:
            broken = (previous.seq + 1, "row missing")
        elif previous is not None and row.prev_hash != previous.hash:
            broken = (row.seq, "does not link to the row before")
        elif row_hash(row.seq, row.prev_hash, row.record, row.details_text) != row.hash:
            broken = (row.seq, "content does not match its hash")
        if broken:
            break
        if row.record.action == PURGE_ACTION:
            checkpoints.append(row.record.details)
        first = first or row
        checked += 1
        previous = row
    if first is not None and (reason := _anchor(first, checkpoints)) is not None:
        return Verification(checked, None, None, first.seq, reason)
    if broken:
        return Verification(checked, None, None, *broken)
    last = (previous.seq, previous.hash) if previous else None
    if head is not None and head != last and not (last is None and head[0] == 0):
        seq = last[0] + 1 if last else head[0]
        return Verification(checked, None, None, seq, f"the chain head is row {head[0]}: rows cut")
    return Verification(checked, *(last or (None, None)))
