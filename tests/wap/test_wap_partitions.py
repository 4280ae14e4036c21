"""A daily partition is audited and published on its own; a bad day never reaches main.

No `from __future__ import annotations`: Dagster inspects the context annotation itself.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa

from lakehouse.io_manager import IcebergIOManager
from lakehouse.settings import load_settings
from lakehouse.wap.gate import build_pandera_check
from tests.wap.conftest import main_ids_by_duckdb

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01")
KEY = dg.AssetKey(["staging", "events"])


def _schema():
    import pandera.pandas as pa_

    return pa_.DataFrameSchema({"id": pa_.Column("Int64", pa_.Check.gt(0), unique=True)})


def test_a_bad_partition_is_kept_off_main_and_a_good_one_published(environment, catalog):
    @dg.asset(key=KEY, partitions_def=DAYS, metadata={"partition_expr": "at"})
    def events(context: dg.AssetExecutionContext) -> pa.Table:
        day = dt.datetime.fromisoformat(context.partition_key).replace(tzinfo=dt.UTC)
        ids = {"2024-01-01": [1, 2], "2024-01-02": [3, -4], "2024-01-03": [5]}[
            context.partition_key
        ]
        return pa.table({"id": ids, "at": [day + dt.timedelta(hours=1)] * len(ids)})

    gate = build_pandera_check(KEY, _schema, description="ids positive and unique")
    io_manager = IcebergIOManager(settings=load_settings(environment))

    def run(day: str) -> bool:
        result = dg.materialize(
            [events, gate],
            partition_key=day,
            resources={"io_manager": io_manager},
            raise_on_error=False,
        )
        return result.success

    assert run("2024-01-01")
    assert not run("2024-01-02")
    assert run("2024-01-03")
    assert main_ids_by_duckdb(catalog, "staging.events") == [1, 2, 5]
