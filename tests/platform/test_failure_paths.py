"""What fails on the platform stays contained (issue 12, item 5), against the real services:

- a bad batch that Spark writes natively (Spark Connect, the run's audit branch) stays off
  ``main`` and lands in the quarantine;
- a failing dbt test on Trino stops the models after it;
- Trino killed (SIGKILL) during a dbt run: every table stays readable, the next run completes.

The dbt tests start from an emptied warehouse and the small staging layer of
tests/analytics/staging_data.py, so their verdicts do not depend on what ran before.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import pandera.pandas as pa_schema
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from lakehouse.analytics.assets import build_analytics_assets
from lakehouse.analytics.resources import build_dbt_resource
from lakehouse.catalog import build_catalog
from lakehouse.iceberg import WriteRequest, write
from lakehouse.iceberg.branches import audit_branch, read_branch
from lakehouse.loopback.layout import Layout
from lakehouse.loopback.processes import running_pid
from lakehouse.loopback.warehouse import GRAPH_NAMESPACES, empty_graph_tables
from lakehouse.settings import REPO_ROOT, Settings
from lakehouse.staging import SparkIcebergIOManager
from lakehouse.wap.gate import build_pandera_check
from lakehouse.wap.quarantine import RULE, read_quarantine
from tests.analytics.analytics_pipeline import DIMENSIONS, FACT, LIFETIME_VALUE
from tests.analytics.staging_data import M1, M2, PURCHASES_V1, users, write_staging
from tests.platform.conftest import environment, settings_of

pytestmark = pytest.mark.slow
CUSTOMERS, PRODUCTS = DIMENSIONS
IDS = pa_schema.DataFrameSchema({"id": pa_schema.Column(int, pa_schema.Check.ge(0), unique=True)})


def test_a_bad_batch_written_by_spark_stays_off_main_and_lands_in_quarantine(
    platform: Layout, spark: Any
) -> None:
    settings = settings_of(platform, "rest")
    catalog = build_catalog(settings)
    key = dg.AssetKey(["staging", f"events_{uuid.uuid4().hex[:8]}"])
    identifier = ".".join(key.path)
    seen: list[list[int]] = []

    def run(make: Callable[[], Any]) -> dg.ExecuteInProcessResult:
        @dg.asset(key=key, io_manager_key="spark_io_manager")
        def events() -> Any:
            return make()

        @dg.asset(key=["analytics", f"{key.path[1]}_probe"], ins={"rows": dg.AssetIn(key)})
        def probe(rows: pa.Table) -> None:
            seen.append(sorted(rows["id"].to_pylist()))

        io_manager = SparkIcebergIOManager(settings=settings)
        return dg.materialize(
            [events, probe, build_pandera_check(key, lambda: IDS, description="ids")],
            resources={"spark_io_manager": io_manager, "io_manager": io_manager},
            raise_on_error=False,
        )

    try:
        good = run(lambda: spark.range(3))
        assert good.success and seen == [[0, 1, 2]]
        [written] = good.asset_materializations_for_node(key.to_python_identifier())
        assert written.metadata["written_by"].value == "spark", "pyiceberg wrote, not Spark"
        assert written.metadata["wap/branch"].value == audit_branch(good.run_id)
        published = catalog.load_table(identifier).current_snapshot().snapshot_id

        bad = run(lambda: spark.range(-1, 5))

        assert not bad.success and seen == [[0, 1, 2]], "downstream ran after a rejected batch"
        [evaluation] = bad.get_asset_check_evaluations()
        assert not evaluation.passed and evaluation.metadata["wap/published"].value is False
        table = catalog.load_table(identifier)
        assert table.current_snapshot().snapshot_id == published
        assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [0, 1, 2]
        kept = read_branch(catalog, identifier, audit_branch(bad.run_id))
        assert sorted(kept["id"].to_pylist()) == [-1, 0, 1, 2, 3, 4], "Spark's batch, kept"
        quarantined = read_quarantine(catalog, tuple(key.path))
        assert sorted(quarantined["id"].to_pylist()) == [-1, 0, 1, 2, 3, 4]
        rules = dict(zip(quarantined["id"].to_pylist(), quarantined[RULE].to_pylist(), strict=True))
        assert rules[-1] != rules[0], "the bad row's own rule, the others rejected with the batch"
    finally:
        for name in (identifier, f"{identifier}__quarantine"):
            if catalog.table_exists(name):
                catalog.purge_table(name)


@pytest.fixture(scope="module")
def trino_manifest(platform: Layout) -> None:
    """dbt-trino's manifest, as `make platform-demo` prepares it (a no-op when up to date)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    subprocess.run(
        [sys.executable, "-m", "lakehouse.analytics.prepare", "--target", "trino"],
        cwd=REPO_ROOT,
        env=env | environment(platform, "rest"),
        check=True,
        capture_output=True,
    )


@pytest.fixture
def analytics(platform: Layout, trino_manifest: None) -> Iterator[tuple[Settings, Catalog]]:
    """The platform's settings and REST catalog over an emptied warehouse with a good staging
    layer; emptied again afterwards."""
    settings = settings_of(platform, "rest")
    catalog = build_catalog(settings)
    empty_graph_tables(catalog)
    write_staging(catalog, PURCHASES_V1)
    yield settings, catalog
    empty_graph_tables(catalog)


def _materialize(
    settings: Settings, selection: list[dg.AssetKey], **kwargs: Any
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        build_analytics_assets(settings),
        selection=selection,
        resources={"dbt": build_dbt_resource(settings)},
        **kwargs,
    )


BACKFILL = {"dagster/asset_partition_range_start": M1, "dagster/asset_partition_range_end": M2}


def test_a_failing_dbt_test_on_trino_stops_the_models_after_it(
    analytics: tuple[Settings, Catalog],
) -> None:
    settings, catalog = analytics
    assert _materialize(settings, DIMENSIONS).success
    assert _materialize(settings, [FACT], tags=BACKFILL).success
    # User 2 twice: dim_customers' unique test fails once the model is rebuilt.
    doubled = pa.concat_tables([users(), users().slice(1, 1)])
    write(catalog, doubled, WriteRequest(("staging", "users")))

    result = _materialize(settings, [CUSTOMERS, PRODUCTS, LIFETIME_VALUE], raise_on_error=False)

    assert not result.success, "a failed dbt test must fail the run"
    built = {event.asset_key for event in result.get_asset_materialization_events()}
    assert CUSTOMERS in built and PRODUCTS in built
    # Its inputs all exist (fct_purchases was built): only the failed test kept it back.
    assert LIFETIME_VALUE not in built
    assert not catalog.table_exists(tuple(LIFETIME_VALUE.path))
    failed = [
        (evaluation.asset_key, evaluation.check_name)
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    ]
    assert failed == [(CUSTOMERS, "unique_dim_customers_user_id")]


def _kill_trino_at_first_write(platform: Layout, trino: Callable[[str], Any]) -> threading.Event:
    """A watcher that SIGKILLs Trino's process group when dbt's first write is running."""
    killed = threading.Event()
    writes = (
        "SELECT count(*) FROM system.runtime.queries WHERE state = 'RUNNING' "
        "AND \"user\" = 'service-account-lakehouse-dbt' AND query NOT LIKE '%system.runtime%' "
        "AND regexp_like(lower(query), 'create (or replace )?table|insert into|merge into')"
    )

    def watch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if trino(writes)[0][0]:
                    break
            except Exception:  # Trino busy or restarting: look again
                pass
            time.sleep(0.1)
        else:
            return
        pid = running_pid(platform, "trino")
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)
            killed.set()

    threading.Thread(target=watch, daemon=True).start()
    return killed


@pytest.fixture
def trino_restarted(platform: Layout) -> Iterator[Callable[[], None]]:
    """Start Trino again through the platform's own script (``up`` starts what is down)."""

    def restart() -> None:
        subprocess.run(
            [sys.executable, "-m", "lakehouse.loopback", "up"],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            timeout=600,
        )

    yield restart
    if running_pid(platform, "trino") is None:
        restart()  # whatever the test did, later tests find Trino up


def _until_scans_are_scheduled(trino: Callable[[str], Any], table: tuple[str, ...]) -> None:
    """A restarted Trino answers, and lists its node active, a few seconds before the node
    announces its catalogs: scans fail with ``NO_NODES_AVAILABLE`` until then."""
    deadline = time.monotonic() + 120
    while True:
        try:
            trino(f"SELECT count(*) FROM iceberg.{table[0]}.{table[1]}")
            return
        except Exception as error:
            if "NO_NODES_AVAILABLE" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def test_trino_killed_during_a_dbt_run_leaves_every_table_readable_and_the_next_run_completes(
    platform: Layout,
    analytics: tuple[Settings, Catalog],
    trino: Callable[[str], Any],
    trino_restarted: Callable[[], None],
) -> None:
    settings, catalog = analytics
    assert _materialize(settings, DIMENSIONS).success
    before = {key: catalog.load_table(tuple(key.path)).scan().to_arrow() for key in DIMENSIONS}

    killed = _kill_trino_at_first_write(platform, trino)
    result = _materialize(settings, DIMENSIONS, raise_on_error=False)

    assert killed.is_set(), "dbt finished before its first write was seen running"
    assert not result.success
    tables = [t for ns in GRAPH_NAMESPACES for t in catalog.list_tables(ns)]
    assert {("analytics", "dim_customers"), ("staging", "users")} <= set(tables)
    for identifier in tables:  # every table, through the catalog, without Trino
        catalog.load_table(identifier).scan().to_arrow()
    for key in DIMENSIONS:  # the killed run committed nothing half-written
        rows = catalog.load_table(tuple(key.path)).scan().to_arrow()
        assert rows.sort_by(rows.column_names[0]).equals(before[key].sort_by(rows.column_names[0]))

    trino_restarted()
    _until_scans_are_scheduled(trino, tables[0])
    for identifier in tables:
        trino(f"SELECT count(*) FROM iceberg.{identifier[0]}.{identifier[1]}")
    again = _materialize(settings, DIMENSIONS)

    assert again.success
    customers = catalog.load_table(tuple(CUSTOMERS.path)).scan().to_arrow()
    assert sorted(customers["user_id"].to_pylist()) == [1, 2, 3]
