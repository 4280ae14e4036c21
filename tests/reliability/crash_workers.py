"""The materialisations the crash tests kill, and the data they write.

Each worker runs in a process forked from one forkserver that has already imported Dagster,
pyiceberg, dbt-duckdb and the lakehouse, so a trial costs a fork, not a 10 s start. A worker
sets ``ready`` just before its Iceberg write begins; the test then SIGKILLs it at a random
moment of that write.

- raw ingest: the raw asset's output as the embedded runtime builds it (``raw.embedded._output``:
  upsert on the primary key, the Airbyte state in the same commit), through ``IcebergIOManager``;
- Spark staging: the staging asset ``staging/purchases`` (its real metadata, a single-run
  backfill of every day) storing the Arrow batch the Spark transform produced, through
  ``SparkIcebergIOManager`` (the embedded runtime's staging write);
- dbt analytics: the dbt-duckdb plugin ``lakehouse.analytics.duckdb_plugin`` as dbt drives it:
  the connection exposes the staging tables, a DuckDB query builds the model's relation, and
  ``store`` commits it to ``analytics.fct_purchases`` (one partition window).
"""

# No `from __future__ import annotations`: Dagster reads the assets' annotations at definition.
import datetime as dt
import json
import multiprocessing
import os
from multiprocessing.context import BaseContext
from multiprocessing.synchronize import Event
from typing import Any

import dagster as dg
import pyarrow as pa

from lakehouse.settings import load_settings

DAY0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
DAYS = 30
RAW_ROWS = 5_000
TS = pa.timestamp("us", tz="UTC")
PRELOAD = [
    "dagster",
    "pyiceberg.catalog.sql",
    "lakehouse.iceberg",
    "lakehouse.io_manager",
    "lakehouse.raw.embedded",
    "lakehouse.staging",
    "lakehouse.analytics.duckdb_plugin",
    "dbt.adapters.duckdb.relation",
    "crash_workers",
    "outage_runs",
]


def forkserver() -> BaseContext:
    """The session's forkserver, with the heavy imports done once before any fork."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def raw_purchases(version: int, rows: int = RAW_ROWS) -> pa.Table:
    """raw.faker_purchases as extracted at ``version``: same ids, versions differ in updates."""
    from lakehouse.raw.streams import STREAMS_BY_NAME

    ids = list(range(1, rows + 1))
    created = [DAY0 + dt.timedelta(seconds=(i * 2591) % (DAYS * 86_400)) for i in ids]
    updated = [c + dt.timedelta(hours=1 + version) for c in created]
    paid = [
        c + dt.timedelta(minutes=30) if i % 3 else None for i, c in zip(ids, created, strict=True)
    ]
    returned = [
        p + dt.timedelta(days=2) if p is not None and (i + version) % 7 == 0 else None
        for i, p in zip(ids, paid, strict=True)
    ]
    extracted = DAY0 + dt.timedelta(days=DAYS + version)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "user_id": pa.array([i % 997 + 1 for i in ids], pa.int64()),
            "product_id": pa.array([i % 89 + 1 for i in ids], pa.int64()),
            "created_at": pa.array(created, TS),
            "updated_at": pa.array(updated, TS),
            "added_to_cart_at": pa.array(created, TS),
            "purchased_at": pa.array(paid, TS),
            "returned_at": pa.array(returned, TS),
            "_airbyte_raw_id": [f"{version}-{i}" for i in ids],
            "_airbyte_extracted_at": pa.array([extracted] * rows, TS),
        },
        schema=STREAMS_BY_NAME["purchases"].schema,
    )


def airbyte_state(version: int) -> dict[str, Any]:
    return {
        "type": "STREAM",
        "stream": {
            "stream_descriptor": {"name": "purchases"},
            "stream_state": {"updated_at": f"version-{version}"},
        },
    }


def _environment(home: str) -> dict[str, str]:
    return {"LAKEHOUSE_HOME": home}


def raw_ingest(home: str, version: int, ready: Event) -> None:
    """Materialise raw/faker_purchases with the records and state of ``version``."""
    from lakehouse.io_manager import IcebergIOManager
    from lakehouse.raw.batches import Refusals, StreamBatch
    from lakehouse.raw.embedded import _output
    from lakehouse.raw.streams import STREAMS_BY_NAME

    stream = STREAMS_BY_NAME["purchases"]
    batch = raw_purchases(version)  # already the stream's schema, as the extraction types it

    @dg.asset(
        key=stream.asset_key,
        metadata={"write_mode": "upsert", "upsert_keys": list(stream.primary_key)},
    )
    def faker_purchases(context: dg.AssetExecutionContext) -> dg.Output:
        refused = Refusals(stream.schema.empty_table())
        observed = batch.schema.remove(batch.schema.get_field_index("_airbyte_raw_id"))
        state = airbyte_state(version)
        output = _output(
            context, StreamBatch(stream, batch, state, refused, batch.num_rows, 0, observed)
        )
        ready.set()
        return output

    result = dg.materialize(
        [faker_purchases],
        resources={"io_manager": IcebergIOManager(settings=load_settings(_environment(home)))},
    )
    assert result.success


def staging_window() -> dict[str, str]:
    """Tags of a single-run backfill over the month partition holding every day of the data."""
    month = DAY0.date().isoformat()  # the data's 30 days are all in March: one partition
    return {
        "dagster/asset_partition_range_start": month,
        "dagster/asset_partition_range_end": month,
    }


def staging_write(home: str, arrow_path: str, ready: Event) -> None:
    """Materialise staging/purchases storing the Spark transform's output read from ``arrow_path``."""
    from lakehouse.partitions import MONTHLY
    from lakehouse.staging import STAGING_IO_MANAGER_KEY, SparkIcebergIOManager
    from lakehouse.staging.tables import STAGING_TABLES_BY_NAME

    table = STAGING_TABLES_BY_NAME["purchases"]
    with pa.memory_map(arrow_path) as source:
        data = pa.ipc.open_file(source).read_all()

    @dg.asset(
        key=table.asset_key,
        metadata=table.metadata(),
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key=STAGING_IO_MANAGER_KEY,
    )
    def purchases() -> pa.Table:
        ready.set()
        return data

    result = dg.materialize(
        [purchases],
        resources={
            STAGING_IO_MANAGER_KEY: SparkIcebergIOManager(
                settings=load_settings(_environment(home))
            )
        },
        tags=staging_window(),
    )
    assert result.success


FCT_QUERY = """
CREATE TABLE analytics.fct_purchases AS
SELECT purchase_id, user_id, product_id, status, created_at, purchased_at, returned_at,
       purchase_date, {version} AS build
FROM staging.purchases
WHERE created_at >= TIMESTAMPTZ '{start}' AND created_at < TIMESTAMPTZ '{end}'
"""


def fct_window() -> list[str]:
    return [DAY0.isoformat(), (DAY0 + dt.timedelta(days=DAYS)).isoformat()]


def dbt_store(home: str, version: int, ready: Event) -> None:
    """What dbt-duckdb does for the external model analytics.fct_purchases, plugin included."""
    import duckdb
    from dbt.adapters.duckdb.relation import DuckDBRelation
    from dbt.adapters.duckdb.utils import TargetConfig

    from lakehouse.analytics.duckdb_plugin import Plugin
    from lakehouse.settings import get_settings

    os.environ["LAKEHOUSE_HOME"] = home
    get_settings.cache_clear()
    plugin = Plugin("lakehouse", {"namespaces": ["staging", "analytics"]})
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    plugin.configure_connection(connection)
    connection.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    connection.execute("DROP VIEW IF EXISTS analytics.fct_purchases")
    start, end = fct_window()
    connection.execute(FCT_QUERY.format(version=version, start=start, end=end))
    relation = DuckDBRelation.create(
        database="memory", schema="analytics", identifier="fct_purchases"
    )
    config = {"partition_column": "created_at", "partition_window": fct_window()}
    ready.set()
    plugin.store(TargetConfig(relation=relation, column_list=[], config=config))


def state_json(version: int) -> str:
    return json.dumps(airbyte_state(version), sort_keys=True, separators=(",", ":"))
