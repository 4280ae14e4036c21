"""One write of an Arrow batch to an Iceberg table: create, evolve, write files, commit once.

This is the IO manager's write without Dagster, so scripts, benchmarks and tests call it too.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
)
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.table.refs import MAIN_BRANCH
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.table.upsert_util import create_match_filter, has_duplicate_rows

from lakehouse.iceberg.arrow import WRITE_CHUNK_BYTES, normalise, table_chunks
from lakehouse.iceberg.branches import start_branch
from lakehouse.iceberg.commits import CommitPlan, commit, delete_quietly, retry_on_conflict
from lakehouse.iceberg.files import write_data_files
from lakehouse.iceberg.schema import add_day_partition, conform, evolve
from lakehouse.iceberg.unreachable import names_unreachable_catalog
from lakehouse.iceberg.write_request import REQUEST_PROPERTY, WriteRequest, WriteRequestError

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class WriteResult:
    table: Table
    snapshot: Snapshot
    rows_written: int
    commit_id: str


def _physical(value: dt.datetime, *, days: bool) -> int:
    """A window bound as the column stores it: microseconds, or days for a date column.

    Naive datetimes and naive timestamp columns are taken as UTC.
    """
    instant = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    micros = (instant - _EPOCH) // dt.timedelta(microseconds=1)
    return micros // 86_400_000_000 if days else micros


def window_filter(
    column: str, window: tuple[dt.datetime, dt.datetime], *, days: bool = False
) -> BooleanExpression:
    """The Iceberg row filter selecting ``start <= column < end`` (``days`` for a date column)."""
    start, end = (_physical(bound, days=days) for bound in window)
    return And(GreaterThanOrEqual(column, start), LessThan(column, end))


def _time_column(data: pa.Table, request: WriteRequest) -> pa.ChunkedArray:
    column = request.partition_column
    if column not in data.column_names:
        raise WriteRequestError(
            f"{request.name}: partition_expr column '{column}' is not in the batch"
        )
    values = data.column(column)
    if not (pa.types.is_timestamp(values.type) or pa.types.is_date32(values.type)):
        raise WriteRequestError(
            f"{request.name}: partition_expr column '{column}' must be a timestamp or a date, "
            f"got {values.type}"
        )
    return values


def check_rows_in_window(data: pa.Table, request: WriteRequest) -> None:
    """Refuse rows outside the partition's window: they would be written but never replaced."""
    assert request.window is not None and request.partition_column is not None
    values = _time_column(data, request)
    days = pa.types.is_date32(values.type)
    start, end = (_physical(bound, days=days) for bound in request.window)
    physical = values.cast(pa.int32() if days else pa.int64())
    bounds = pc.min_max(physical).as_py()
    if values.null_count == 0 and (
        data.num_rows == 0 or (bounds["min"] >= start and bounds["max"] < end)
    ):
        return
    inside = pc.sum(pc.and_(pc.greater_equal(physical, start), pc.less(physical, end))).as_py()
    outside = data.num_rows - (inside or 0)
    first, last = request.window
    raise WriteRequestError(
        f"{request.name}: {outside} of {data.num_rows} rows of the batch for partition "
        f"{request.partition_label or first.isoformat()} have '{request.partition_column}' outside "
        f"the partition's window [{first.isoformat()}, {last.isoformat()}) or null"
    )


def _delete_filter(
    request: WriteRequest, keys: pa.Table | None, *, days: bool
) -> BooleanExpression | Callable[[], BooleanExpression] | None:
    """What the write replaces: the window (or everything) for an overwrite, the batch's keys
    (built only if the table has rows to match) for an upsert, nothing for an append."""
    window = None
    if request.window is not None and request.partition_column is not None:
        window = window_filter(request.partition_column, request.window, days=days)
    if request.mode == "append":
        return None
    if request.mode == "overwrite":
        return window or AlwaysTrue()
    if keys is None or keys.num_rows == 0:
        return None

    def matching() -> BooleanExpression:
        assert keys is not None
        filters = And(
            *_key_ranges(keys, request.upsert_keys),
            create_match_filter(keys, list(request.upsert_keys)),
        )
        return filters if window is None else And(window, filters)

    return matching


def _key_ranges(data: pa.Table, keys: tuple[str, ...]) -> list[BooleanExpression]:
    """``min <= key <= max`` per key of the batch, which file statistics can prune by.

    pyiceberg cannot prune with an ``In`` of more than 200 values (every file might match), so
    an upsert into a day-partitioned table would read and rewrite every file of every day;
    with the range, files whose keys lie outside the batch's are skipped unread.
    """
    ranges: list[BooleanExpression] = [AlwaysTrue()]
    for key in keys:
        column = data.column(key)
        if not (pa.types.is_integer(column.type) or pa.types.is_string(column.type)):
            continue
        bounds = pc.min_max(column).as_py()
        if bounds["min"] is not None:
            ranges += [GreaterThanOrEqual(key, bounds["min"]), LessThanOrEqual(key, bounds["max"])]
    return ranges


def _check_upsert_keys(data: pa.Table, request: WriteRequest) -> None:
    missing = [key for key in request.upsert_keys if key not in data.column_names]
    if missing:
        raise WriteRequestError(f"{request.name}: upsert_keys {missing} are not in the batch")


def _check_unique_keys(keys: pa.Table, request: WriteRequest) -> None:
    if has_duplicate_rows(keys, list(request.upsert_keys)):
        raise WriteRequestError(
            f"{request.name}: the batch holds duplicate rows for upsert_keys "
            f"{list(request.upsert_keys)}; an upsert needs one row per key"
        )


def _checked(data: pa.Table, request: WriteRequest) -> pa.Table:
    """One chunk normalised and checked against the request (columns, window, keys)."""
    data = normalise(data)
    if request.partition_column:
        _time_column(data, request)
    if request.window is not None:
        check_rows_in_window(data, request)
    if request.mode == "upsert":
        _check_upsert_keys(data, request)
    return data


def load_or_create_table(
    catalog: Catalog, identifier: tuple[str, ...], schema: pa.Schema, partition_column: str | None
) -> Table:
    """Load the table, creating its namespace and itself (day-partitioned if asked) if missing."""
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    catalog.create_namespace_if_not_exists(identifier[:-1])
    try:
        with catalog.create_table_transaction(identifier, schema=schema) as txn:
            if partition_column:
                add_day_partition(txn, partition_column)
    except TableAlreadyExistsError:  # a concurrent writer created it first
        pass
    return catalog.load_table(identifier)


@names_unreachable_catalog
def write(
    catalog: Catalog,
    data: pa.Table | pa.RecordBatchReader,
    request: WriteRequest,
    *,
    commit_timeout_seconds: float = 120.0,
    chunk_bytes: int = WRITE_CHUNK_BYTES,
) -> WriteResult:
    """Write ``data`` as ``request`` says, in one atomic data commit that lands exactly once
    (on ``request.branch``, restarted at main's head, when one is given).

    A ``RecordBatchReader`` is written chunk by chunk (``table_chunks``), so memory holds one
    chunk and the upsert keys, not the whole batch; it is still one commit."""
    chunks = table_chunks(data, chunk_bytes)
    head = next(chunks, None)
    first = _checked(data.schema.empty_table() if head is None else head, request)
    if request.mode == "upsert" and isinstance(data, pa.Table):
        _check_unique_keys(first, request)  # before any file is written
    table = load_or_create_table(
        catalog, request.identifier, first.schema, request.partition_column
    )
    schema = conform(table, first).schema
    table, _ = retry_on_conflict(
        catalog,
        request.identifier,
        lambda current: evolve(current, schema, request.partition_column),
        timeout_seconds=commit_timeout_seconds,
        table=table,
    )
    properties = dict(request.snapshot_properties)
    if request.branch is not None:
        table, _ = retry_on_conflict(
            catalog,
            request.identifier,
            lambda current: start_branch(current, request.branch or ""),
            timeout_seconds=commit_timeout_seconds,
            table=table,
        )
        properties[REQUEST_PROPERTY] = request.to_json()
    files: list[DataFile] = []
    keys: list[pa.Table] = []
    rows = 0
    try:
        for chunk in itertools.chain([first], (_checked(c, request) for c in chunks)):
            chunk = conform(table, chunk)
            files += write_data_files(table, chunk)
            rows += chunk.num_rows
            if request.mode == "upsert":
                keys.append(chunk.select(list(request.upsert_keys)))
        keyed = pa.concat_tables(keys) if keys else None
        if keyed is not None and not isinstance(data, pa.Table):
            _check_unique_keys(keyed, request)
    except BaseException:
        delete_quietly(table.io, files)  # nothing committed refers to them
        raise
    days = bool(request.partition_column) and pa.types.is_date32(
        first.schema.field(request.partition_column).type
    )
    plan = CommitPlan(
        data_files=tuple(files),
        delete_filter=_delete_filter(request, keyed, days=days),
        snapshot_properties=properties,
        branch=request.branch or MAIN_BRANCH,
    )
    table, snapshot = commit(
        catalog, request.identifier, plan, timeout_seconds=commit_timeout_seconds, table=table
    )
    return WriteResult(table, snapshot, rows, plan.commit_id)
