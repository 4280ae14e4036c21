"""The quarantine: rows kept off ``main``, in ``<namespace>.<table>__quarantine`` beside the source.

Each quarantined row keeps every column of the source plus why and when: the first rule it broke
and its column, all its reasons (JSON, with the offending value when the writer gave it), the
Dagster run, the time, the audit branch and snapshot, the batch it came in (a replay unit), the
write request to replay it with, and, for a record whose values could not all be stored in the
table's types, the record as the source sent it (``_quarantine_original``).

A fingerprint (SHA-256 of the row's content, the writer's volatile columns left out) keeps one
row per content: a record re-read from the source and refused again is not added twice. The
table is written straight to ``main`` (auditing the quarantine would need a quarantine of its
own).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import And, EqualTo, In

from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.wap.policy import Reasons

SUFFIX = "__quarantine"
RULE, COLUMN, REASONS = "_quarantine_rule", "_quarantine_column", "_quarantine_reasons"
RUN_ID, AT, BATCH = "_quarantine_run_id", "_quarantine_at", "_quarantine_batch"
BRANCH, SNAPSHOT, REQUEST = "_quarantine_branch", "_quarantine_snapshot_id", "_quarantine_request"
ORIGINAL, FINGERPRINT = "_quarantine_original", "_quarantine_fingerprint"
COLUMNS = (
    RULE,
    COLUMN,
    REASONS,
    RUN_ID,
    AT,
    BATCH,
    BRANCH,
    SNAPSHOT,
    REQUEST,
    ORIGINAL,
    FINGERPRINT,
)
SOURCE_PROPERTY = "lakehouse.quarantine-of"


def quarantine_identifier(identifier: Sequence[str]) -> tuple[str, ...]:
    return (*identifier[:-1], f"{identifier[-1]}{SUFFIX}")


def is_quarantine(identifier: Sequence[str]) -> bool:
    return identifier[-1].endswith(SUFFIX)


def source_identifier(identifier: Sequence[str]) -> tuple[str, ...]:
    return (*identifier[:-1], identifier[-1].removesuffix(SUFFIX))


@dataclass(frozen=True)
class Quarantined:
    """One append to a quarantine: its batch id, the rows added, and those already there."""

    batch: str
    added: int
    already_quarantined: int

    @property
    def rows(self) -> int:
        """Every row the caller handed over: each is in quarantine now."""
        return self.added + self.already_quarantined


def _nullable(rows: pa.Table) -> pa.Table:
    """Source columns may be required; a quarantined row is the one that may break that."""
    return rows.cast(pa.schema([field.with_nullable(True) for field in rows.schema]))


def fingerprint_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def fingerprints(rows: pa.Table, volatile_columns: Collection[str] = ()) -> list[str]:
    """SHA-256 of each row's values by column name (volatile and quarantine columns left out)."""
    names = sorted(n for n in rows.column_names if n not in volatile_columns and n not in COLUMNS)
    return [
        fingerprint_text(json.dumps(row, sort_keys=True, default=str))
        for row in rows.select(names).to_pylist()
    ]


def _reasons_json(reasons: Reasons, values: Mapping[str, str] | None) -> str:
    listed: list[dict[str, str]] = []
    for column, rule in reasons:
        entry = {"column": column, "rule": rule}
        if values and column in values:
            entry["value"] = values[column]
        listed.append(entry)
    return json.dumps(listed)


def known_fingerprints(catalog: Catalog, identifier: tuple[str, ...]) -> set[str]:
    try:
        table = catalog.load_table(quarantine_identifier(identifier))
    except NoSuchTableError:
        return set()
    if FINGERPRINT not in table.schema().column_names:
        return set()
    found = table.scan(selected_fields=(FINGERPRINT,)).to_arrow()[FINGERPRINT]
    return {value for value in found.to_pylist() if value is not None}


def quarantine_rows(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rows: pa.Table,
    reasons: Sequence[Reasons],
    *,
    run_id: str,
    branch: str | None,
    snapshot_id: int | None,
    request_json: str | None,
    originals: Sequence[str | None] | None = None,
    values: Sequence[Mapping[str, str] | None] | None = None,
    row_fingerprints: Sequence[str] | None = None,
    volatile_columns: Collection[str] = (),
    commit_timeout_seconds: float = 120.0,
) -> Quarantined:
    """Append ``rows`` (one reason list per row) to the source's quarantine, skipping rows whose
    fingerprint is already there. ``originals``: the record as sent, when it could not be typed;
    ``values``: per row, column -> the offending value as text, kept in the reasons."""
    n = rows.num_rows
    for name, given in (
        ("reason lists", reasons),
        ("originals", originals),
        ("values", values),
        ("fingerprints", row_fingerprints),
    ):
        if given is not None and len(given) != n:
            raise ValueError(f"{n} rows but {len(given)} {name}")
    batch = uuid.uuid4().hex
    prints = list(row_fingerprints or fingerprints(rows, volatile_columns))
    seen = known_fingerprints(catalog, identifier) if n else set()
    keep = []
    for position, value in enumerate(prints):
        if value not in seen:
            seen.add(value)
            keep.append(position)
    if not keep:
        return Quarantined(batch, 0, n)
    first = [row[0] if row else ("", "") for row in reasons]
    extra: dict[str, pa.Array] = {
        RULE: pa.array([rule for _, rule in first], pa.string()),
        COLUMN: pa.array([column for column, _ in first], pa.string()),
        REASONS: pa.array(
            [_reasons_json(row, values[i] if values else None) for i, row in enumerate(reasons)],
            pa.string(),
        ),
        RUN_ID: pa.array([run_id] * n, pa.string()),
        AT: pa.array([dt.datetime.now(dt.UTC)] * n, pa.timestamp("us", tz="UTC")),
        BATCH: pa.array([batch] * n, pa.string()),
        BRANCH: pa.array([branch] * n, pa.string()),
        SNAPSHOT: pa.array([snapshot_id] * n, pa.int64()),
        REQUEST: pa.array([request_json] * n, pa.string()),
        ORIGINAL: pa.array(list(originals) if originals else [None] * n, pa.string()),
        FINGERPRINT: pa.array(prints, pa.string()),
    }
    data = _nullable(rows.drop_columns([c for c in COLUMNS if c in rows.column_names]))
    for name, column in extra.items():
        data = data.append_column(name, column)
    if len(keep) < n:
        data = data.take(pa.array(keep, pa.int64()))
    request = WriteRequest(
        identifier=quarantine_identifier(identifier),
        mode="append",
        snapshot_properties={SOURCE_PROPERTY: ".".join(identifier), "dagster.run-id": run_id},
    )
    write(catalog, data, request, commit_timeout_seconds=commit_timeout_seconds)
    return Quarantined(batch, len(keep), n - len(keep))


def read_quarantine(catalog: Catalog, identifier: tuple[str, ...]) -> pa.Table | None:
    """Every quarantined row of the source table, or None when nothing was ever quarantined.
    Rows quarantined before fingerprints existed get theirs computed here."""
    try:
        rows = catalog.load_table(quarantine_identifier(identifier)).scan().to_arrow()
    except NoSuchTableError:
        return None
    if FINGERPRINT in rows.column_names and not rows[FINGERPRINT].null_count:
        return rows
    computed = pa.array(fingerprints(rows), pa.string())
    if FINGERPRINT in rows.column_names:
        computed = pc.coalesce(rows[FINGERPRINT], computed)
        return rows.set_column(rows.schema.get_field_index(FINGERPRINT), FINGERPRINT, computed)
    return rows.append_column(FINGERPRINT, computed)


def drop_batch(catalog: Catalog, identifier: tuple[str, ...], batch: str) -> None:
    """Remove one batch from the quarantine, once its rows are back on main."""
    table = catalog.load_table(quarantine_identifier(identifier))
    table.delete(EqualTo(BATCH, batch))


def split_batch(
    catalog: Catalog, identifier: tuple[str, ...], batch: str, moved: Collection[str]
) -> str:
    """Move the rows of ``batch`` with the fingerprints ``moved`` to a new batch, in one commit,
    and return its id: a replay publishing part of a batch keeps the rest exactly as it was."""
    table = catalog.load_table(quarantine_identifier(identifier))
    selected = And(EqualTo(BATCH, batch), In(FINGERPRINT, set(moved)))
    rows = table.scan(row_filter=selected).to_arrow()
    new_batch = uuid.uuid4().hex
    rows = rows.set_column(
        rows.schema.get_field_index(BATCH), BATCH, pa.array([new_batch] * rows.num_rows)
    )
    with table.transaction() as transaction:
        transaction.delete(selected)
        transaction.append(rows)
    return new_batch


def list_quarantines(catalog: Catalog) -> list[dict[str, Any]]:
    """One row per quarantine table: its source, rows, batches and rows per rule."""
    listing = []
    for namespace in sorted(catalog.list_namespaces()):
        for identifier in sorted(catalog.list_tables(namespace)):
            if not is_quarantine(identifier):
                continue
            source = source_identifier(identifier)
            rows = read_quarantine(catalog, source)
            assert rows is not None
            rules = pc.value_counts(rows[RULE]).to_pylist() if rows.num_rows else []
            listing.append(
                {
                    "table": ".".join(source),
                    "quarantine": ".".join(identifier),
                    "rows": rows.num_rows,
                    "batches": len(pc.unique(rows[BATCH])) if rows.num_rows else 0,
                    "rules": {r["values"]: r["counts"] for r in rules},
                }
            )
    return listing


def source_rows(quarantined: pa.Table) -> pa.Table:
    """The quarantined rows as the source table holds them (without the quarantine columns)."""
    return quarantined.drop_columns([c for c in COLUMNS if c in quarantined.column_names])
