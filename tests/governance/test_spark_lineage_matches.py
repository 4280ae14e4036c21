"""The Spark column lineage declared in spark/transforms.py is what the transforms do: changing
one raw column changes exactly the staging columns declared to come from it."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from lakehouse.governance.lineage.spark_columns import spark_column_lineage
from lakehouse.raw.streams import STREAMS_BY_NAME
from spark.contracts import CONTRACTS
from spark.transforms import TRANSFORMS

pytestmark = pytest.mark.slow  # a Spark transform run per raw column

T = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)
TIME_SHIFT = dt.timedelta(days=1, hours=1)


def _base(field: pa.Field, row: int):
    """Row 0 holds a value, row 1 a null where the column may be null (so that a change from
    null shows too: a status computed from whether a time is set)."""
    if row == 1 and field.nullable and field.name not in ("created_at",):
        return None
    if pa.types.is_int64(field.type):
        return row + 1 if field.name == "id" else 30 + row
    if pa.types.is_floating(field.type):
        return 10.0 + row
    if pa.types.is_timestamp(field.type):
        return T + dt.timedelta(hours=row)
    if pa.types.is_struct(field.type):
        return {child.name: f"{child.name} {row}" for child in field.type}
    return f"Value {row}"


def _changed(value, field_type: pa.DataType):
    if pa.types.is_int64(field_type):
        return 40 if value is None else value + 1000 if value < 10 else value + 1
    if pa.types.is_floating(field_type):
        return 5.0 if value is None else value + 1
    if pa.types.is_timestamp(field_type):
        return T - dt.timedelta(hours=5) if value is None else value + TIME_SHIFT
    return "New" if value is None else f"{value} changed"


def _perturb(rows: list[dict], schema: pa.Schema, path: str) -> list[dict]:
    head, _, child = path.partition(".")
    out = []
    for row in rows:
        row = dict(row)
        if child:
            struct = dict(row[head] or {})
            struct[child] = _changed(struct.get(child), pa.string())
            row[head] = struct
        else:
            row[head] = _changed(row[head], schema.field(head).type)
        out.append(row)
    return out


def _paths(schema: pa.Schema) -> list[str]:
    paths = []
    for field in schema:
        if pa.types.is_struct(field.type):
            paths += [f"{field.name}.{child.name}" for child in field.type]
        else:
            paths.append(field.name)
    return paths


def _columns(spark, table: str, rows: list[dict], schema: pa.Schema) -> dict[str, list]:
    frame = spark.createDataFrame(pa.Table.from_pylist(rows, schema=schema))
    out = TRANSFORMS[table](frame).toArrow()
    return {name: sorted(out[name].to_pylist(), key=repr) for name in out.column_names}


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_declared_lineage_matches_what_the_transform_reads(spark, table):
    contract = CONTRACTS[table]
    schema = STREAMS_BY_NAME[table].schema
    declared = spark_column_lineage()[f"staging.{table}"]
    rows = [{f.name: _base(f, row) for f in schema} for row in (0, 1)]
    base = _columns(spark, table, rows, schema)
    for path in _paths(schema):
        after = _columns(spark, table, _perturb(rows, schema, path), schema)
        observed = {column for column in contract.names if after[column] != base[column]}
        expected = {c for c, sources in declared.items() if path in {s.column for s in sources}}
        assert observed == expected, f"raw {path}: changes {observed}, declared {expected}"
