"""Table health as an asset: observations per table and the Prometheus textfile."""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import datetime as dt

import dagster as dg

from lakehouse.upkeep.asset import each_table, upkeep_asset
from lakehouse.upkeep.health.table_health import table_health
from lakehouse.upkeep.metrics import publish
from lakehouse.upkeep.resource import UpkeepResource


@upkeep_asset(
    "table_health", "Files, small-file ratio, snapshots, bytes and upkeep ages per table."
)
def table_health_asset(
    context: dg.AssetExecutionContext, upkeep: UpkeepResource
) -> dg.MaterializeResult:
    catalog, now, samples = upkeep.catalog(), dt.datetime.now(dt.UTC), []

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        health = table_health(catalog.load_table(identifier), upkeep.rules(identifier), now)
        context.log_event(
            dg.AssetObservation(asset_key=dg.AssetKey(list(identifier)), metadata=health.metadata())
        )
        samples.extend(health.samples())
        return {"data_files": health.data_files, "small_files": health.small_files}

    totals = each_table(context, upkeep, work)
    path = publish(upkeep.settings, "table_health", samples)
    return dg.MaterializeResult(
        metadata={**totals, "metrics_file": dg.MetadataValue.path(str(path))}
    )
