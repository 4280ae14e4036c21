"""Analytics fixtures: the prepared duckdb manifest and one shared embedded pipeline run.

Each dbt invocation costs 20-40 s on this machine, so the embedded pipeline (staging written;
dimensions, a two-month backfill of the partitioned models and customer lifetime value built through
Dagster; a second staging snapshot; D2's month of the partitioned models rebuilt) runs once per session and every assertion reads what it left.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from analytics_pipeline import (
    DAILY_REVENUE,
    DIMENSIONS,
    FACT,
    LIFETIME_VALUE,
    Pipeline,
    fct_files_by_day,
    read_tables,
)
from staging_data import M1, M2, PURCHASES_V1, PURCHASES_V2, write_staging

from lakehouse.analytics.assets import build_analytics_assets
from lakehouse.analytics.prepare import manifest_path, prepare
from lakehouse.analytics.resources import build_dbt_resource
from lakehouse.catalog import build_catalog
from lakehouse.settings import load_settings


@pytest.fixture(scope="session")
def duckdb_manifest() -> Path:
    """The manifest the code location loads (a no-op when `make setup` already built it)."""
    prepare("duckdb")
    return manifest_path("duckdb")


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory, duckdb_manifest: Path) -> Iterator[Pipeline]:
    environ = {"LAKEHOUSE_HOME": str(tmp_path_factory.mktemp("analytics-lakehouse"))}
    settings = load_settings(environ)
    catalog = build_catalog(settings)
    assets = build_analytics_assets(settings)
    resources = {"dbt": build_dbt_resource(load_settings(environ))}
    state = Pipeline(catalog)

    def run(name: str, selection: list[dg.AssetKey], **kwargs: Any) -> None:
        result = dg.materialize(assets, selection=selection, resources=resources, **kwargs)
        assert result.success, name
        state.results[name] = result

    write_staging(catalog, PURCHASES_V1)
    run("dimensions", DIMENSIONS)
    # Both months in one run, as a backfill with the single-run policy does it.
    run(
        "fact_backfill",
        [FACT, DAILY_REVENUE],
        tags={
            "dagster/asset_partition_range_start": M1,
            "dagster/asset_partition_range_end": M2,
        },
    )
    run("metrics", [LIFETIME_VALUE])  # whole history: unpartitioned
    state.v1 = read_tables(catalog)

    state.fct_files_before_d2_run = fct_files_by_day(catalog)
    write_staging(catalog, PURCHASES_V2)  # a new staging snapshot
    run("fact_d2", [FACT, DAILY_REVENUE], partition_key=M2)
    state.fct_files_after_d2_run = fct_files_by_day(catalog)
    state.v2 = {
        key.path[-1]: catalog.load_table(tuple(key.path)).scan().to_arrow()
        for key in (FACT, DAILY_REVENUE)
    }
    yield state
