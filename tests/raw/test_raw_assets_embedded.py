"""The embedded raw assets end to end: real source-faker, Iceberg IO manager, temp catalog.

Slow: two materialisations, one connector run each.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pyarrow as pa
import pytest

from lakehouse.catalog import build_catalog
from lakehouse.iceberg import latest_snapshot_property
from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.streams import STATE_PROPERTY, STREAMS, STREAMS_BY_NAME
from lakehouse.settings import load_settings

pytestmark = pytest.mark.slow
COUNT = 50


def _stale_users(ids: range) -> pa.Table:
    """Rows as another writer (the platform runtime, a lost state) left them: no Airbyte state."""
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = [
        {"id": i, "name": "stale", "_airbyte_raw_id": f"old-{i}", "_airbyte_extracted_at": now}
        for i in ids
    ]
    return pa.Table.from_pylist(rows, schema=STREAMS_BY_NAME["users"].schema)


def _materialised(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, dict]:
    return {
        event.asset_key: {k: v.value for k, v in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }


def test_two_materialisations_commit_records_with_their_state_then_nothing(
    tmp_path, connector_envs: None
):
    environment = {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_FAKER_COUNT": str(COUNT)}
    settings = load_settings(environment)
    catalog = build_catalog(settings)
    users = STREAMS_BY_NAME["users"]
    # Ten users already there without state: the first run re-reads them and must not duplicate.
    catalog.create_table(users.identifier, schema=users.schema).append(_stale_users(range(1, 11)))
    assets = build_raw_assets(settings)
    resources = {"io_manager": IcebergIOManager(settings=load_settings(environment))}

    with dg.instance_for_test() as instance:
        first = dg.materialize(assets, resources=resources, instance=instance)
        assert first.success
        metadata = _materialised(first)
        assert {key: meta["airbyte/rows_staged"] for key, meta in metadata.items()} == {
            stream.asset_key: COUNT for stream in STREAMS
        }
        snapshots = {}
        for stream in STREAMS:
            table = catalog.load_table(stream.identifier)
            rows = table.scan().to_arrow()
            ids = rows.column("id").to_pylist()
            assert sorted(ids) == list(range(1, COUNT + 1))  # upserted: no stale duplicates
            state = json.loads(latest_snapshot_property(table, STATE_PROPERTY))
            assert state["stream"]["stream_descriptor"]["name"] == stream.name
            assert state == metadata[stream.asset_key]["airbyte/state"]
            snapshots[stream.name] = table.current_snapshot().snapshot_id
        assert (
            "stale"
            not in catalog.load_table(users.identifier).scan().to_arrow()["name"].to_pylist()
        )

        second = dg.materialize(assets, resources=resources, instance=instance)
        assert second.success
        assert _materialised(second) == {}  # faker has nothing new, so nothing is committed
        for stream in STREAMS:
            table = catalog.load_table(stream.identifier)
            assert table.current_snapshot().snapshot_id == snapshots[stream.name]
            assert table.scan().to_arrow().num_rows == COUNT
