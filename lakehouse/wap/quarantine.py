"""The quarantine: rows kept off ``main``, in ``<namespace>.<table>__quarantine`` beside the source.

Each quarantined row keeps every column of the source plus why and when: the first rule it broke
and its column, all its reasons (JSON), the Dagster run, the time, the audit branch and snapshot,
the batch it came in (a replay unit) and the write request to replay it with. The table is
written straight to ``main`` (auditing the quarantine would need a quarantine of its own).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import EqualTo

from lakehouse.iceberg.writes import WriteRequest, write
from lakehouse.wap.policy import Reasons

SUFFIX = "__quarantine"
RULE, COLUMN, REASONS = "_quarantine_rule", "_quarantine_column", "_quarantine_reasons"
RUN_ID, AT, BATCH = "_quarantine_run_id", "_quarantine_at", "_quarantine_batch"
BRANCH, SNAPSHOT, REQUEST = "_quarantine_branch", "_quarantine_snapshot_id", "_quarantine_request"
COLUMNS = (RULE, COLUMN, REASONS, RUN_ID, AT, BATCH, BRANCH, SNAPSHOT, REQUEST)
SOURCE_PROPERTY = "lakehouse.quarantine-of"


def quarantine_identifier(identifier: Sequence[str]) -> tuple[str, ...]:
    return (*identifier[:-1], f"{identifier[-1]}{SUFFIX}")


def is_quarantine(identifier: Sequence[str]) -> bool:
    return identifier[-1].endswith(SUFFIX)


def source_identifier(identifier: Sequence[str]) -> tuple[str, ...]:
    return (*identifier[:-1], identifier[-1].removesuffix(SUFFIX))


def _nullable(rows: pa.Table) -> pa.Table:
    """Source columns may be required; a quarantined row is the one that may break that."""
    return rows.cast(pa.schema([field.with_nullable(True) for field in rows.schema]))


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
    commit_timeout_seconds: float = 120.0,
) -> str:
    """Append ``rows`` (one reason list per row) to the source's quarantine; return the batch id."""
    if rows.num_rows != len(reasons):
        raise ValueError(f"{rows.num_rows} rows but {len(reasons)} reason lists")
    batch = uuid.uuid4().hex
    n = rows.num_rows
    first = [row[0] if row else ("", "") for row in reasons]
    extra: dict[str, pa.Array] = {
        RULE: pa.array([rule for _, rule in first], pa.string()),
        COLUMN: pa.array([column for column, _ in first], pa.string()),
        REASONS: pa.array(
            [json.dumps([{"column": c, "rule": r} for c, r in row]) for row in reasons], pa.string()
        ),
        RUN_ID: pa.array([run_id] * n, pa.string()),
        AT: pa.array([dt.datetime.now(dt.UTC)] * n, pa.timestamp("us", tz="UTC")),
        BATCH: pa.array([batch] * n, pa.string()),
        BRANCH: pa.array([branch] * n, pa.string()),
        SNAPSHOT: pa.array([snapshot_id] * n, pa.int64()),
        REQUEST: pa.array([request_json] * n, pa.string()),
    }
    data = _nullable(rows.drop_columns([c for c in COLUMNS if c in rows.column_names]))
    for name, values in extra.items():
        data = data.append_column(name, values)
    request = WriteRequest(
        identifier=quarantine_identifier(identifier),
        mode="append",
        snapshot_properties={SOURCE_PROPERTY: ".".join(identifier), "dagster.run-id": run_id},
    )
    write(catalog, data, request, commit_timeout_seconds=commit_timeout_seconds)
    return batch


def read_quarantine(catalog: Catalog, identifier: tuple[str, ...]) -> pa.Table | None:
    """Every quarantined row of the source table, or None when nothing was ever quarantined."""
    try:
        return catalog.load_table(quarantine_identifier(identifier)).scan().to_arrow()
    except NoSuchTableError:
        return None


def drop_batch(catalog: Catalog, identifier: tuple[str, ...], batch: str) -> None:
    """Remove one batch from the quarantine, once its rows are back on main (or re-quarantined)."""
    table = catalog.load_table(quarantine_identifier(identifier))
    table.delete(EqualTo(BATCH, batch))


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
