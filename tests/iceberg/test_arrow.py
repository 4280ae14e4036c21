"""Outputs become Arrow tables Iceberg accepts; inputs come back as Arrow or pandas."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from lakehouse.iceberg.arrow import (
    _CONVERTERS,
    normalise,
    register_arrow_converter,
    to_arrow,
    wants_pandas,
)


def test_pandas_becomes_arrow_without_its_index() -> None:
    table = to_arrow(pd.DataFrame({"id": [1, 2]}, index=["a", "b"]))
    assert table.column_names == ["id"]
    assert table.schema.metadata is None


def test_arrow_tables_batches_and_readers_are_accepted() -> None:
    table = pa.table({"id": [1, 2]})
    assert to_arrow(table) is table
    assert to_arrow(table.to_batches()[0]).equals(table)
    assert to_arrow(pa.RecordBatchReader.from_batches(table.schema, table.to_batches())).equals(
        table
    )


def test_unsupported_types_are_refused_with_the_supported_ones() -> None:
    with pytest.raises(TypeError, match=r"builtins\.dict.*pandas\.core\.frame\.DataFrame"):
        to_arrow({"id": [1]})


def test_a_converter_can_be_registered_for_a_new_type(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeSparkFrame:
        def toArrow(self) -> pa.Table:
            return pa.table({"id": [7]})

    monkeypatch.setattr("lakehouse.iceberg.arrow._CONVERTERS", dict(_CONVERTERS))
    name = f"{FakeSparkFrame.__module__}.{FakeSparkFrame.__qualname__}"
    register_arrow_converter(name, lambda frame: frame.toArrow())
    assert to_arrow(FakeSparkFrame())["id"].to_pylist() == [7]


def test_timestamps_become_microseconds_and_utc() -> None:
    # Built from epoch milliseconds (2024-01-01T11:00Z): pyarrow's conversion of Python datetimes
    # with a fixed-offset tzinfo gave 12:00Z in a full-suite run, which is not what we test here.
    eleven_utc_ms = int(dt.datetime(2024, 1, 1, 11, tzinfo=dt.UTC).timestamp() * 1000)
    table = pa.table(
        {
            "ns": pa.array([1_700_000_000_123_456_789], pa.timestamp("ns")),
            "ms_paris": pa.array([eleven_utc_ms], pa.timestamp("ms", tz="Europe/Paris")),
            "nested": pa.array([{"at": 1}], pa.struct([("at", pa.timestamp("ns"))])),
            "status": pa.array(["a"]).dictionary_encode(),
        }
    )
    result = normalise(table)
    assert result.schema.field("ns").type == pa.timestamp("us")
    assert result["ns"][0].value == 1_700_000_000_123_456  # truncated to microseconds
    assert result.schema.field("ms_paris").type == pa.timestamp("us", tz="UTC")
    assert result["ms_paris"][0].as_py() == dt.datetime(2024, 1, 1, 11, tzinfo=dt.UTC)
    assert result.schema.field("nested").type == pa.struct([("at", pa.timestamp("us"))])
    assert result.schema.field("status").type == pa.string()


def test_normalise_leaves_iceberg_ready_tables_alone() -> None:
    table = pa.table({"at": pa.array([1], pa.timestamp("us")), "n": [1]})
    assert normalise(table) is table


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [(pd.DataFrame, True), (pa.Table, False), (Any, False), (None, False)],
)
def test_pandas_is_returned_only_when_asked(annotation: Any, expected: bool) -> None:
    assert wants_pandas(annotation) is expected
