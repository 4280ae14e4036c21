"""The IO manager end to end through ``dg.materialize``, on SQLite and PostgreSQL catalogs."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest
from pyiceberg.types import LongType, StringType, TimestampType, TimestamptzType

from lakehouse.iceberg import SchemaEvolutionError, WriteRequestError
from lakehouse.io_manager import IcebergIOManager
from lakehouse.settings import load_settings

# 1. Arrow and pandas in, Arrow or pandas out


def test_stores_arrow_and_pandas_and_loads_arrow_or_pandas(materialize, iceberg_catalog) -> None:
    @dg.asset(key=["raw", "from_arrow"])
    def from_arrow() -> pa.Table:
        return pa.table({"id": [1, 2], "name": ["a", "b"]})

    @dg.asset(key=["raw", "from_pandas"])
    def from_pandas() -> pd.DataFrame:
        return pd.DataFrame({"id": [3, 4], "name": ["c", "d"]}, index=[10, 11])

    seen: dict[str, object] = {}

    @dg.asset(key=["staging", "both"], ins={"a": dg.AssetIn(["raw", "from_arrow"])})
    def both(a, from_pandas: pd.DataFrame) -> pa.Table:
        seen.update(a=a, p=from_pandas)
        return pa.concat_tables([a, pa.Table.from_pandas(from_pandas, preserve_index=False)])

    assert materialize([from_arrow, from_pandas, both]).success
    assert isinstance(seen["a"], pa.Table)
    assert isinstance(seen["p"], pd.DataFrame)
    assert seen["p"]["id"].tolist() == [3, 4]
    stored = iceberg_catalog.load_table("raw.from_pandas").scan().to_arrow()
    assert stored.column_names == ["id", "name"]  # the pandas index is not stored
    both_ids = iceberg_catalog.load_table("staging.both").scan().to_arrow()["id"].to_pylist()
    assert sorted(both_ids) == [1, 2, 3, 4]


def test_refuses_an_unsupported_output_type(materialize) -> None:
    @dg.asset(key=["raw", "bad"])
    def bad() -> list:
        return [1, 2]

    with pytest.raises(TypeError, match=r"cannot store a builtins\.list.*pyarrow\.lib\.Table"):
        materialize([bad])


# 2. The asset key names the table; namespaces and tables are created on first write


def test_asset_key_names_namespace_and_table_and_creates_them(materialize, iceberg_catalog) -> None:
    @dg.asset(key=["sandbox", "users"])
    def users() -> pa.Table:
        return pa.table({"id": [1]})

    assert ("sandbox",) not in iceberg_catalog.list_namespaces()
    assert materialize([users]).success
    assert iceberg_catalog.list_tables("sandbox") == [("sandbox", "users")]


def test_single_component_key_is_refused(materialize) -> None:
    @dg.asset
    def users() -> pa.Table:
        return pa.table({"id": [1]})

    with pytest.raises(WriteRequestError, match="needs a namespace"):
        materialize([users])


# 3. Schema evolution and timestamps


def test_new_columns_are_added(materialize, iceberg_catalog) -> None:
    batches = iter([pa.table({"id": [1]}), pa.table({"id": [2], "email": ["x@y"]})])

    @dg.asset(key=["raw", "users"], metadata={"write_mode": "append"})
    def users() -> pa.Table:
        return next(batches)

    materialize([users])
    materialize([users])
    table = iceberg_catalog.load_table("raw.users")
    assert table.schema().find_field("email").field_type == StringType()
    rows = table.scan().to_arrow().sort_by("id").to_pylist()
    assert rows == [{"id": 1, "email": None}, {"id": 2, "email": "x@y"}]


def test_incompatible_type_change_names_table_column_and_types(materialize) -> None:
    batches = iter([pa.table({"id": [1]}), pa.table({"id": ["one"]})])

    @dg.asset(key=["raw", "users"])
    def users() -> pa.Table:
        return next(batches)

    materialize([users])
    with pytest.raises(SchemaEvolutionError) as error:
        materialize([users])
    assert all(part in str(error.value) for part in ("raw.users", "'id'", "long", "string"))


def test_int_column_is_promoted_to_long(materialize, iceberg_catalog) -> None:
    batches = iter([pa.table({"n": pa.array([1], pa.int32())}), pa.table({"n": [2**40]})])

    @dg.asset(key=["raw", "numbers"], metadata={"write_mode": "append"})
    def numbers() -> pa.Table:
        return next(batches)

    materialize([numbers])
    materialize([numbers])
    table = iceberg_catalog.load_table("raw.numbers")
    assert table.schema().find_field("n").field_type == LongType()
    assert sorted(table.scan().to_arrow()["n"].to_pylist()) == [1, 2**40]


def test_timestamps_are_stored_as_microseconds(materialize, iceberg_catalog) -> None:
    @dg.asset(key=["raw", "times"])
    def times() -> pd.DataFrame:  # pandas gives nanoseconds
        return pd.DataFrame(
            {
                "naive": pd.to_datetime(["2024-01-01 12:00:00.123456789"]),
                "aware": pd.to_datetime(["2024-01-01 12:00:00"]).tz_localize("Europe/Paris"),
            }
        )

    assert materialize([times]).success
    table = iceberg_catalog.load_table("raw.times")
    assert table.schema().find_field("naive").field_type == TimestampType()
    assert table.schema().find_field("aware").field_type == TimestamptzType()
    row = table.scan().to_arrow().to_pylist()[0]
    assert row["naive"] == dt.datetime(2024, 1, 1, 12, 0, 0, 123456)
    assert row["aware"] == dt.datetime(2024, 1, 1, 11, 0, tzinfo=dt.UTC)


# 4. Write modes


def test_write_modes(materialize, iceberg_catalog) -> None:
    batches = {
        "overwrite": [pa.table({"id": [1, 2], "v": ["a", "b"]}), pa.table({"id": [3], "v": ["c"]})],
        "append": [pa.table({"id": [1], "v": ["a"]}), pa.table({"id": [2], "v": ["b"]})],
        "upsert": [
            pa.table({"id": [1, 2], "v": ["a", "b"]}),
            pa.table({"id": [2, 3], "v": ["B", "c"]}),
        ],
    }
    expected = {
        "overwrite": [(3, "c")],
        "append": [(1, "a"), (2, "b")],
        "upsert": [(1, "a"), (2, "B"), (3, "c")],
    }
    for mode, tables in batches.items():
        pending = iter(tables)
        metadata = {} if mode == "overwrite" else {"write_mode": mode, "upsert_keys": ["id"]}

        @dg.asset(key=["staging", mode], metadata=metadata)
        def asset() -> pa.Table:
            return next(pending)  # noqa: B023 - materialised before the loop moves on

        materialize([asset])
        materialize([asset])
        rows = iceberg_catalog.load_table(f"staging.{mode}").scan().to_arrow().sort_by("id")
        assert (
            list(zip(rows["id"].to_pylist(), rows["v"].to_pylist(), strict=True)) == expected[mode]
        ), mode


def test_upsert_needs_keys_and_unique_rows(materialize) -> None:
    @dg.asset(key=["staging", "u"], metadata={"write_mode": "upsert"})
    def no_keys() -> pa.Table:
        return pa.table({"id": [1]})

    with pytest.raises(WriteRequestError, match="upsert_keys"):
        materialize([no_keys])

    @dg.asset(key=["staging", "u"], metadata={"write_mode": "upsert", "upsert_keys": ["id"]})
    def duplicates() -> pa.Table:
        return pa.table({"id": [1, 1]})

    with pytest.raises(WriteRequestError, match="duplicate rows"):
        materialize([duplicates])


# 5. Snapshot properties from the asset


def test_snapshot_properties_must_be_strings(materialize) -> None:
    @dg.asset(key=["raw", "users"])
    def users() -> dg.Output[pa.Table]:
        return dg.Output(
            pa.table({"id": [1]}), metadata={"iceberg/snapshot_properties": {"cursor": 5}}
        )

    with pytest.raises(TypeError, match="dict of str to str"):
        materialize([users])


def test_dagster_snapshot_properties_cannot_be_overridden(materialize, iceberg_catalog) -> None:
    @dg.asset(key=["raw", "users"])
    def users() -> dg.Output[pa.Table]:
        spoofed = {"dagster.run-id": "not-this-run", "source": "faker"}
        return dg.Output(pa.table({"id": [1]}), metadata={"iceberg/snapshot_properties": spoofed})

    result = materialize([users])
    summary = iceberg_catalog.load_table("raw.users").current_snapshot().summary
    assert (summary["dagster.run-id"], summary["source"]) == (result.run_id, "faker")


# 6. Inputs


def test_loading_a_missing_table_says_which(materialize) -> None:
    upstream = dg.AssetSpec(["raw", "never"])

    @dg.asset(key=["staging", "x"], deps=[], ins={"never": dg.AssetIn(["raw", "never"])})
    def x(never: pa.Table) -> pa.Table:
        return never

    with pytest.raises(Exception, match=r"raw\.never does not exist yet"):
        materialize([upstream, x], selection=[x])


# 7. Materialisation metadata


def test_materialization_metadata(materialize, iceberg_catalog, output_metadata) -> None:
    @dg.asset(key=["raw", "users"])
    def users() -> pa.Table:
        return pa.table({"id": [1, 2, 3], "name": ["a", "b", None]})

    metadata = output_metadata(materialize([users]), ["raw", "users"])
    table = iceberg_catalog.load_table("raw.users")
    files = list(table.scan().plan_files())
    assert metadata["dagster/row_count"] == 3
    assert metadata["rows_written"] == 3
    assert metadata["snapshot_id"] == table.current_snapshot().snapshot_id
    assert metadata["data_files"] == len(files) == 1
    assert metadata["table_bytes"] == files[0].file.file_size_in_bytes
    assert metadata["table_location"] == table.location()
    assert metadata["dagster/table_name"] == "lakehouse.raw.users"
    schema = metadata["dagster/column_schema"]
    assert [(c.name, c.type, c.constraints.nullable) for c in schema.columns] == [
        ("id", "long", True),
        ("name", "string", True),
    ]
    assert all(isinstance(metadata[k], int) for k in ("rows_written", "data_files", "table_bytes"))


def test_column_docs_and_required_columns_reach_the_column_schema(
    materialize, iceberg_catalog, output_metadata
) -> None:
    iceberg_catalog.create_namespace_if_not_exists("raw")
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), ("name", pa.string())])
    iceberg_catalog.create_table("raw.docs", schema=schema)
    with iceberg_catalog.load_table("raw.docs").update_schema() as update:
        update.update_column("id", doc="the user id")

    @dg.asset(key=["raw", "docs"])
    def docs() -> pd.DataFrame:  # pandas columns are all nullable in Arrow
        return pd.DataFrame({"id": [1], "name": [None]})

    metadata = output_metadata(materialize([docs]), ["raw", "docs"])
    [id_column, name_column] = metadata["dagster/column_schema"].columns
    assert id_column.description == "the user id"
    assert id_column.constraints.nullable is False  # still required: the batch had no nulls
    assert name_column.constraints.nullable is True


def test_definitions_accept_the_io_manager(tmp_path) -> None:
    @dg.asset(key=["raw", "users"])
    def users() -> pa.Table:
        return pa.table({"id": [1]})

    defs = dg.Definitions(
        assets=[users],
        resources={
            "io_manager": IcebergIOManager(
                settings=load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
            )
        },
    )
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process()
    assert result.success
