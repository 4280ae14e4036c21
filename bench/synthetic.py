"""Synthetic raw tables with source-faker's schema, for benches at sizes the connector is slow at.

source-faker emits ~4,600 records/s here (users and purchases come in equal numbers), so 1M
purchases would take ~8 min of extraction before any layer we want to measure. These tables have
the raw streams' exact Arrow schemas (``lakehouse/raw/streams.py``) and pass the raw and staging
contracts; they are written by a multi-asset with the embedded raw asset's keys and write
metadata, so they land through the same Iceberg IO manager (upsert on ``id``, purchases by day).
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation itself.

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.raw.streams import STREAMS, STREAMS_BY_NAME, raw_asset_spec, write_metadata

PRODUCTS = 100  # source-faker's fixed catalogue size
_DAY_US = 86_400_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_WORDS = np.array(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"])
_MAKES = np.array(["Mazda", "Toyota", "Honda", "Ford", "Audi", "Mercedes-Benz", "Kia", "Fiat"])


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _timestamps(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[us]"), pa.timestamp("us", tz="UTC"))


def _text(rng: np.random.Generator, choices: np.ndarray, rows: int) -> pa.Array:
    return pa.array(choices[rng.integers(0, len(choices), rows)])


def _numbered(prefix: str, ids: np.ndarray, suffix: str = "") -> pa.Array:
    """``prefix<id>suffix`` for each id, built in Arrow (a Python loop costs ~1 s per 1M)."""
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(ids), pa.string()), suffix, "")


def _airbyte_columns(stream: str, ids: np.ndarray, extracted: int) -> dict[str, pa.Array]:
    return {
        "_airbyte_raw_id": _numbered(f"{stream}-", ids),
        "_airbyte_extracted_at": _timestamps(np.full(len(ids), extracted)),
    }


def users(count: int, *, before: dt.datetime, seed: int = 1, first_id: int = 1) -> pa.Table:
    """``count`` users created in the year before ``before``; ids from ``first_id``, e-mails
    unique."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    end = _micros(before)
    created = rng.integers(end - 365 * _DAY_US, end, count)
    address = pa.StructArray.from_arrays(
        [
            _numbered("", rng.integers(1, 999, count)),
            _text(rng, _WORDS, count),
            _text(rng, _WORDS, count),
            _text(rng, _WORDS, count),
            _text(rng, _WORDS, count),
            _numbered("", rng.integers(10_000, 99_999, count)),
            _text(rng, np.array(["US", "GB", "FR", "DE", "MX", "JP"]), count),
        ],
        fields=list(STREAMS_BY_NAME["users"].schema.field("address").type),
    )
    columns: dict[str, pa.Array] = {
        "id": pa.array(ids),
        "created_at": _timestamps(created),
        "updated_at": _timestamps(created),
        "name": _text(rng, _WORDS, count),
        "title": _text(rng, np.array(["Mr.", "Ms.", "Dr."]), count),
        "age": pa.array(rng.integers(18, 90, count)),
        "email": _numbered("user", ids, "@example.com"),
        "telephone": _numbered("+1 555 ", ids),
        "gender": _text(rng, np.array(["Female", "Male", "Other"]), count),
        "language": _text(rng, np.array(["English", "French", "Croatian"]), count),
        "academic_degree": _text(rng, np.array(["Bachelor", "Master", "PhD"]), count),
        "nationality": _text(rng, np.array(["French", "Kenyan", "Peruvian"]), count),
        "occupation": _text(rng, _WORDS, count),
        "height": _text(rng, np.array(["1.64", "1.72", "1.85"]), count),
        "blood_type": _text(rng, np.array(["A+", "B+", "O-"]), count),
        "weight": pa.array(rng.integers(45, 120, count)),
        "address": address,
        **_airbyte_columns("users", ids, end),
    }
    return pa.table(columns, schema=STREAMS_BY_NAME["users"].schema)


def products(*, before: dt.datetime, seed: int = 2) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, PRODUCTS + 1, dtype=np.int64)
    created = np.full(PRODUCTS, _micros(before) - 400 * _DAY_US)
    columns: dict[str, pa.Array] = {
        "id": pa.array(ids),
        "make": _text(rng, _MAKES, PRODUCTS),
        "model": _text(rng, _WORDS, PRODUCTS),
        "year": pa.array(rng.integers(2000, 2025, PRODUCTS)),
        "price": pa.array(rng.integers(5_000, 60_000, PRODUCTS).astype(np.float64)),
        "created_at": _timestamps(created),
        "updated_at": _timestamps(created),
        **_airbyte_columns("products", ids, _micros(before)),
    }
    return pa.table(columns, schema=STREAMS_BY_NAME["products"].schema)


def purchases(
    count: int,
    *,
    start: dt.datetime,
    end: dt.datetime,
    users: int,
    first_id: int = 1,
    seed: int = 3,
    extracted: dt.datetime | None = None,
) -> pa.Table:
    """``count`` purchases created uniformly in ``[start, end)``; 70% paid, 10% of those returned."""
    rng = np.random.default_rng(seed)
    ids = np.arange(first_id, first_id + count, dtype=np.int64)
    created = rng.integers(_micros(start), _micros(end), count)
    added = created + rng.integers(0, _DAY_US, count)
    paid = added + rng.integers(0, 3 * _DAY_US, count)
    is_paid = rng.random(count) < 0.7
    returned = paid + rng.integers(0, 30 * _DAY_US, count)
    is_returned = is_paid & (rng.random(count) < 0.1)
    columns: dict[str, pa.Array] = {
        "id": pa.array(ids),
        "user_id": pa.array(rng.integers(1, users + 1, count)),
        "product_id": pa.array(rng.integers(1, PRODUCTS + 1, count)),
        "created_at": _timestamps(created),
        "updated_at": _timestamps(created),
        "added_to_cart_at": _timestamps(added),
        "purchased_at": pa.array(paid.astype("datetime64[us]"), mask=~is_paid).cast(
            pa.timestamp("us", tz="UTC")
        ),
        "returned_at": pa.array(returned.astype("datetime64[us]"), mask=~is_returned).cast(
            pa.timestamp("us", tz="UTC")
        ),
        **_airbyte_columns("purchases", ids, _micros(extracted or end)),
    }
    return pa.table(columns, schema=STREAMS_BY_NAME["purchases"].schema)


# Rows per generated batch of a stream: the whole of one at 10M rows (users ~2.6 GB in Arrow)
# would not fit the bench's memory bound, so the large streams are generated batch by batch.
STREAM_BATCH_ROWS = 500_000


def _reader(schema: pa.Schema, tables: Iterator[pa.Table]) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(
        schema, (batch for table in tables for batch in table.to_batches())
    )


def users_stream(count: int, *, before: dt.datetime, seed: int = 1) -> pa.RecordBatchReader:
    """``users`` generated ``STREAM_BATCH_ROWS`` at a time (ids 1..count), as a reader."""
    starts = range(1, count + 1, STREAM_BATCH_ROWS)
    return _reader(
        STREAMS_BY_NAME["users"].schema,
        (
            users(
                min(STREAM_BATCH_ROWS, count + 1 - first),
                before=before,
                seed=seed + n,
                first_id=first,
            )
            for n, first in enumerate(starts)
        ),
    )


def purchases_stream(
    count: int, *, start: dt.datetime, end: dt.datetime, users: int, seed: int = 3
) -> pa.RecordBatchReader:
    """``purchases`` generated in time order, one slice of ``[start, end)`` per batch, so a day's
    rows come in one or two batches (a connector reads by cursor the same way)."""
    slices = max(1, -(-count // STREAM_BATCH_ROWS))
    span = (end - start) / slices

    def tables() -> Iterator[pa.Table]:
        for n in range(slices):
            first, last = count * n // slices, count * (n + 1) // slices
            yield purchases(
                last - first,
                start=start + span * n,
                end=start + span * (n + 1),
                users=users,
                first_id=first + 1,
                seed=seed + n,
                extracted=end,
            )

    return _reader(STREAMS_BY_NAME["purchases"].schema, tables())


Batch = pa.Table | pa.RecordBatchReader


def build_synthetic_raw_asset(batches: dict[str, Batch]) -> dg.AssetsDefinition:
    """The embedded raw multi-asset's keys and write metadata (``write_metadata``), emitting
    ``batches`` (stream name -> table, or a reader the IO manager streams) instead of running
    the connector. A reader is read once: the asset runs once per build."""
    outs = {
        stream.asset_key.to_python_identifier(): dg.AssetOut.from_spec(
            raw_asset_spec(stream).merge_attributes(metadata=write_metadata(stream)),
            dagster_type=dg.Any,
            is_required=False,
        )
        for stream in STREAMS
    }

    @dg.multi_asset(name="synthetic_source_faker", outs=outs, can_subset=True)
    def synthetic_source_faker(context: dg.AssetExecutionContext) -> Iterator[dg.Output]:
        for stream in STREAMS:
            if stream.asset_key in context.selected_asset_keys and stream.name in batches:
                yield dg.Output(
                    batches[stream.name],
                    output_name=context.assets_def.get_output_name_for_asset_key(stream.asset_key),
                )

    return synthetic_source_faker
