"""Staging assets end to end: raw tables written with ``write``, Spark on the shared session,
the Iceberg IO manager storing ``toArrow()``, the pandera checks blocking."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.types import DateType, IntegerType, LongType, StringType, TimestamptzType

from lakehouse.iceberg import latest_snapshot_property
from lakehouse.staging import resources as staging_resources_module

EPOCH = dt.date(1970, 1, 1)
# The fixtures of tests/staging/conftest.py.
WriteRaw = Callable[[str, list[dict[str, Any]]], None]
Materialize = Callable[..., dg.ExecuteInProcessResult]


# Days 1, 2 and 3 are each the first of its month, so each is its month partition's only day.
DAYS = {1: dt.date(2024, 2, 1), 2: dt.date(2024, 3, 1), 3: dt.date(2024, 4, 1)}


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(DAYS[day], dt.time(hour), dt.UTC)


def month(day: int) -> str:
    """The partition key of day ``day``'s month."""
    return DAYS[day].isoformat()


def purchase(id_: int, created: dt.datetime, **values: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "user_id": 100 + id_,
        "product_id": 7,
        "created_at": created,
        "updated_at": created,
        "added_to_cart_at": created,
        **values,
    }


THREE_DAYS = [purchase(day * 10 + n, at(day, 8 + n)) for day in (1, 2, 3) for n in range(3)]


def rows(catalog: Catalog, table: str, key: str) -> dict[int, dict[str, Any]]:
    return {row[key]: row for row in catalog.load_table(table).scan().to_arrow().to_pylist()}


def files_by_day(catalog: Catalog) -> dict[dt.date, set[str]]:
    """staging.purchases' data files per day partition."""
    days: dict[dt.date, set[str]] = defaultdict(set)
    for task in catalog.load_table("staging.purchases").scan().plan_files():
        days[EPOCH + dt.timedelta(days=task.file.partition[0])].add(task.file.file_path)
    return dict(days)


def check_passed(result: dg.ExecuteInProcessResult) -> bool:
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation.passed


def test_users_are_deduplicated_cleaned_and_typed_end_to_end(
    write_raw: WriteRaw, materialize: Materialize, catalog: Catalog
) -> None:
    write_raw(
        "users",
        [
            {"id": 1, "name": " Ann ", "email": " Ann@Example.COM", "age": 30, "updated_at": at(1)},
            {
                "id": 1,
                "name": "Ann Lee",
                "email": "ann@example.com",
                "age": 31,
                "updated_at": at(2),
            },
            {"id": 2, "name": "Bo", "email": "bo@example.com", "address": {"country_code": "SE"}},
        ],
    )
    result = materialize("users")
    assert result.success and check_passed(result)

    table = catalog.load_table("staging.users")
    schema = table.schema()
    assert [field.name for field in schema.fields][:3] == ["user_id", "full_name", "email"]
    assert schema.find_field("user_id").required
    assert isinstance(schema.find_field("user_id").field_type, LongType)
    assert isinstance(schema.find_field("age").field_type, IntegerType)
    assert isinstance(schema.find_field("created_at").field_type, TimestamptzType)
    assert schema.find_field("email").doc == "e-mail address, trimmed and lower-case"
    users = rows(catalog, "staging.users", "user_id")
    assert (users[1]["full_name"], users[1]["email"], users[1]["age"]) == (
        "Ann Lee",
        "ann@example.com",
        31,
    )
    assert users[2]["country_code"] == "SE"
    assert latest_snapshot_property(table, "dagster.run-id") == result.run_id


def test_the_contract_check_blocks_a_bad_staging_table(
    write_raw: WriteRaw, materialize: Materialize
) -> None:
    write_raw("users", [{"id": 1, "email": "not-an-email"}, {"id": 2, "email": "b@example.com"}])
    result = materialize("users", raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["bad_rows"].value == 1
    assert "email" in evaluation.metadata["summary"].value


def test_a_two_month_range_run_reads_and_writes_those_months_in_one_run(
    write_raw: WriteRaw, materialize: Materialize, catalog: Catalog
) -> None:
    write_raw("purchases", THREE_DAYS)
    result = materialize(
        "purchases",
        tags={
            "dagster/asset_partition_range_start": month(1),
            "dagster/asset_partition_range_end": month(2),
        },
    )
    assert result.success and check_passed(result)
    purchases = rows(catalog, "staging.purchases", "purchase_id")
    assert sorted(purchases) == [10, 11, 12, 20, 21, 22]
    assert {row["purchase_date"] for row in purchases.values()} == {DAYS[1], DAYS[2]}
    assert set(files_by_day(catalog)) == {DAYS[1], DAYS[2]}
    table = catalog.load_table("staging.purchases")
    assert len(table.metadata.snapshots) == 1  # one run, one commit
    assert latest_snapshot_property(table, "dagster.partition-key") == f"{month(1)}...{month(2)}"


def test_a_one_month_run_reads_and_replaces_only_that_months_days(
    write_raw: WriteRaw,
    materialize: Materialize,
    catalog: Catalog,
    staging_resources: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_raw("purchases", THREE_DAYS)
    assert materialize(
        "purchases",
        tags={
            "dagster/asset_partition_range_start": month(1),
            "dagster/asset_partition_range_end": month(3),
        },
    ).success
    before = files_by_day(catalog)

    # The source changes on two days; only day 2's month is re-run.
    changed = [
        purchase(10, at(1, 8), purchased_at=at(1, 9)),
        *[row for row in THREE_DAYS if row["id"] not in (10, 20)],
        purchase(20, at(2, 8), purchased_at=at(2, 9), returned_at=at(2, 10)),
        purchase(23, at(2, 23)),
    ]
    write_raw("purchases", changed)
    batches: list[int] = []
    original = staging_resources_module.spill_to_spark

    def spy(spark: Any, reader: pa.RecordBatchReader, directory: Any) -> Any:
        rows = reader.read_all()  # the rows handed to Spark, counted, then handed on
        batches.append(rows.num_rows)
        return original(
            spark, pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches()), directory
        )

    monkeypatch.setattr(staging_resources_module, "spill_to_spark", spy)
    result = materialize("purchases", partition_key=month(2))
    assert result.success and check_passed(result)
    assert batches == [4]  # raw rows of day 2's month only
    # The contract check is partitioned like the asset: it audits the run's day, not the table.
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.metadata["rows_checked"].value == 4

    after = files_by_day(catalog)
    assert after[DAYS[1]] == before[DAYS[1]]
    assert after[DAYS[3]] == before[DAYS[3]]
    assert after[DAYS[2]].isdisjoint(before[DAYS[2]])
    purchases = rows(catalog, "staging.purchases", "purchase_id")
    assert purchases[20]["status"] == "returned"
    assert 23 in purchases
    assert purchases[10]["status"] == "in_cart"  # day 1 was not re-run
    assert len(purchases) == 10


def test_the_purchases_table_is_day_partitioned_on_created_at(
    write_raw: WriteRaw, materialize: Materialize, catalog: Catalog
) -> None:
    write_raw("purchases", THREE_DAYS[:3])
    assert materialize("purchases", partition_key=month(1)).success
    table = catalog.load_table("staging.purchases")
    [field] = table.spec().fields
    assert (str(field.transform), table.schema().find_column_name(field.source_id)) == (
        "day",
        "created_at",
    )
    assert isinstance(table.schema().find_field("purchase_date").field_type, DateType)
    assert isinstance(table.schema().find_field("status").field_type, StringType)
