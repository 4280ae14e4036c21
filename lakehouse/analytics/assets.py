"""The dbt models as Dagster assets ``analytics/<model>``, their tests as asset checks.

Two definitions over one manifest: the models tagged ``partitioned`` (``fct_purchases``,
``daily_revenue``) are partitioned by month like the staging purchases they read, one run per
window (a backfill is one run over the whole range) that reads and replaces only the window;
the other models are unpartitioned. Both run ``dbt build``, so each model's tests run
before the models that depend on it. After dbt, each output gets the Iceberg snapshot the model
committed (DuckDB: our plugin; Trino: its Iceberg connector).
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation at definition.
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import dagster as dg
from dagster_dbt import dbt_assets
from pyiceberg.catalog import Catalog
from pyiceberg.table.snapshots import Snapshot, ancestors_of

from lakehouse.analytics.column_lineage import load_column_lineage
from lakehouse.analytics.prepare import prepare_if_dev
from lakehouse.analytics.project import analytics_project, load_manifest
from lakehouse.analytics.resources import LakehouseDbtCliResource
from lakehouse.analytics.translator import LakehouseDbtTranslator
from lakehouse.catalog import shared_catalog
from lakehouse.iceberg.commits import summary_properties
from lakehouse.iceberg.schema import table_address
from lakehouse.partitions import MONTHLY, SINGLE_RUN, single_run_backfills
from lakehouse.settings import Settings

PARTITIONED_SELECTOR = "tag:partitioned"


def build_args() -> list[str]:
    """``dbt build``: models then their tests, in dependency order. No ``--vars``: a change of
    vars makes dbt re-parse the project, so the window goes in the environment instead."""
    return ["build"]


def _run_snapshot(snapshots: Iterable[Snapshot], run_id: str) -> Snapshot | None:
    for snapshot in snapshots:
        if summary_properties(snapshot).get("dagster.run-id") == run_id:
            return snapshot
    return None


def snapshot_metadata(catalog: Catalog, asset_key: dg.AssetKey, run_id: str) -> dict[str, Any]:
    """The committed snapshot of the model's table: this run's own commit when it carries the run
    id (the DuckDB plugin's), else the current one (Trino's)."""
    table = catalog.load_table(tuple(asset_key.path))
    current = table.current_snapshot()
    if current is None:
        return {}
    snapshot = _run_snapshot(ancestors_of(current, table.metadata), run_id) or current
    summary = summary_properties(snapshot)
    metadata: dict[str, Any] = {
        "iceberg/snapshot_id": snapshot.snapshot_id,
        "iceberg/table_location": dg.MetadataValue.path(table.location()),
        "dagster/table_name": table_address(table),
    }
    if (total := summary.get("total-records")) is not None:
        metadata["dagster/row_count"] = int(total)
    partition_key = summary.get("dagster.partition-key")
    if partition_key and "..." not in partition_key and (added := summary.get("added-records")):
        # One partition replaced: the commit's appended rows are the partition's rows.
        metadata["dagster/partition_row_count"] = int(added)
    return metadata


def _with_iceberg_metadata(
    context: dg.AssetExecutionContext, events: Iterator[Any], catalog: Catalog | None
) -> Iterator[Any]:
    for event in events:
        if catalog is not None and isinstance(event, dg.Output):
            asset_key = context.asset_key_for_output(event.output_name)
            try:
                extra = snapshot_metadata(catalog, asset_key, context.run.run_id)
            except Exception as error:  # metadata is a nicety: never fail a built model for it
                context.log.warning(
                    f"no Iceberg metadata for {asset_key.to_user_string()}: {error}"
                )
                extra = {}
            event = event.with_metadata({**event.metadata, **extra})
        yield event


def _catalog_or_none(
    dbt: LakehouseDbtCliResource, context: dg.AssetExecutionContext
) -> Catalog | None:
    try:
        return shared_catalog(dbt.settings)
    except Exception as error:
        context.log.warning(f"Iceberg catalog unavailable, no snapshot metadata: {error}")
        return None


def _build(
    context: dg.AssetExecutionContext,
    dbt: LakehouseDbtCliResource,
    window: tuple[dt.datetime, dt.datetime] | None = None,
) -> Iterator[Any]:
    invocation = dbt.cli(build_args(), context=context, window=window)
    yield from _with_iceberg_metadata(context, invocation.stream(), _catalog_or_none(dbt, context))


def build_analytics_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The analytics assets for the settings' dbt target, from the prepared manifest."""
    target = settings.analytics_target
    prepare_if_dev(target)
    project = analytics_project(target)
    manifest = load_manifest(project)
    translator = LakehouseDbtTranslator(
        load_column_lineage(project.project_dir / project.target_path)
    )

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=translator,
        exclude=PARTITIONED_SELECTOR,
        name="analytics_models",
    )
    def analytics_models(context: dg.AssetExecutionContext, dbt: LakehouseDbtCliResource):
        yield from _build(context, dbt)

    with single_run_backfills():

        @dbt_assets(
            manifest=manifest,
            project=project,
            dagster_dbt_translator=translator,
            select=PARTITIONED_SELECTOR,
            name="analytics_partitioned_models",
            partitions_def=MONTHLY,
            backfill_policy=SINGLE_RUN,
        )
        def analytics_partitioned_models(
            context: dg.AssetExecutionContext, dbt: LakehouseDbtCliResource
        ):
            window = context.partition_time_window  # one month, or a backfill's whole range
            yield from _build(context, dbt, (window.start, window.end))

    return [analytics_models, analytics_partitioned_models]
