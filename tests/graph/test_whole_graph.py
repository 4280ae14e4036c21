"""The whole graph, raw -> staging -> analytics -> ml, as ``make demo`` runs it, on a fresh warehouse.

The real source-faker connector, the real Spark and dbt-duckdb, an in-memory instance. The
month partitions start two years back (``--since``), to keep the test short; the demo's own
full-history run is ``make demo``. source-faker's product list is fixed at 100 and its
purchases point at all of them, so ``LAKEHOUSE_FAKER_COUNT`` stays >= 100 or the fact's
relationship test would rightly fail.

Everything here runs at the pinned clock (tests/conftest.py), source-faker included: faker's
dates run from 2000 to "now", so without it the data, the window and the verdict would all
follow the day the suite runs.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.automation.backfills import RANGE_END_TAG, RANGE_START_TAG
from lakehouse.catalog import build_catalog
from lakehouse.cli.console import DemoConsole
from lakehouse.cli.demo import run_demo
from lakehouse.cli.inventory import list_tables
from lakehouse.partitions import MONTHLY, month_of
from lakehouse.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.clock]
LAYERS = ("raw", "staging", "analytics", "ml")
WINDOW_DAYS = 730
CHURN_HORIZON_DAYS = 90  # MlConfig's default, which the demo runs with


@dataclass
class Demo:
    code: int
    lines: list[str]
    tables: dict[str, dict[str, dict]]  # layer -> table -> inventory row
    ranges: list[tuple[str, str]]  # the staging+analytics runs' partition ranges


@dataclass
class Demos:
    first: Demo
    second: Demo
    environ: dict[str, str]
    instance: dg.DagsterInstance
    since: str


@pytest.fixture(scope="module")
def demos(pinned_clock: dt.datetime, tmp_path_factory: pytest.TempPathFactory) -> Demos:
    """Two demos in a row on one warehouse and instance: the second has nothing new."""
    environ = {
        "LAKEHOUSE_HOME": str(tmp_path_factory.mktemp("whole-graph")),
        "LAKEHOUSE_FAKER_COUNT": "1000",
        "LAKEHOUSE_FAKER_NOW": pinned_clock.isoformat(),
    }
    since = (pinned_clock.date() - dt.timedelta(days=WINDOW_DAYS)).isoformat()
    instance = dg.DagsterInstance.ephemeral()
    catalog = build_catalog(load_settings(environ))
    runs: list[Demo] = []
    for _ in range(2):
        console = DemoConsole(io.StringIO(), live=False)
        code = run_demo(environ, instance, console=console, since=since)
        lines = console.lines
        tables: dict[str, dict[str, dict]] = {layer: {} for layer in LAYERS}
        for row in list_tables(catalog, list(LAYERS)):
            tables[row["namespace"]][row["table"]] = row
        transforms = instance.get_runs(filters=dg.RunsFilter(job_name="daily_transforms_job"))
        ranges = [(run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) for run in transforms]
        runs.append(Demo(code, lines, tables, ranges[: len(ranges) - len(runs)]))
    return Demos(runs[0], runs[1], environ, instance, since)


def test_every_stage_succeeds_and_no_check_fails(demos: Demos) -> None:
    for demo in (demos.first, demos.second):
        assert demo.code == 0, "\n".join(demo.lines)
        stages = [line.split()[2] for line in demo.lines if line.startswith("✓ [")]
        assert stages == ["raw", "transforms", "ml"], demo.lines
        assert not [line for line in demo.lines if line.startswith("✗")], demo.lines
        assert not [line for line in demo.lines if line.startswith("check failed")], demo.lines


def test_every_layer_holds_tables_with_rows(demos: Demos) -> None:
    first, environ = demos.first, demos.environ
    rows = {layer: {t: r["rows"] for t, r in first.tables[layer].items()} for layer in LAYERS}
    assert set(rows["raw"]) == {"faker_users", "faker_products", "faker_purchases"}
    assert {"users", "products", "purchases"} <= set(rows["staging"])
    assert {"dim_customers", "dim_products", "fct_purchases", "daily_revenue"} <= set(
        rows["analytics"]
    )
    assert set(rows["ml"]) == {"customer_features", "churn_training_set"}
    # The churn set is judged on its own below: it may rightly be empty for a short window.
    empty = [
        f"{layer}.{t}"
        for layer in LAYERS
        for t, n in rows[layer].items()
        if n == 0 and (layer, t) != ("ml", "churn_training_set")
    ]
    assert not empty, empty
    assert rows["raw"]["faker_users"] == 1000
    # Nothing lost on the way: every raw purchase of the window (from the month of --since)
    # reaches staging and the fact.
    raw = build_catalog(load_settings(environ)).load_table("raw.faker_purchases").scan().to_arrow()
    since = dt.datetime.fromisoformat(month_of(dt.date.fromisoformat(demos.since)))
    since = since.replace(tzinfo=dt.UTC)
    in_window = pc.sum(
        pc.greater_equal(raw["created_at"], pa.scalar(since, raw.schema.field("created_at").type))
    ).as_py()
    assert rows["staging"]["purchases"] == rows["analytics"]["fct_purchases"] == in_window > 0


def _churn_population(environ: dict[str, str], reference: dt.date) -> int:
    """Customers who paid before the cutoff, counted straight from the analytics tables."""
    catalog = build_catalog(load_settings(environ))
    cutoff = dt.datetime.combine(reference - dt.timedelta(days=CHURN_HORIZON_DAYS), dt.time())
    cutoff = cutoff.replace(tzinfo=dt.UTC)
    customers = catalog.load_table("analytics.dim_customers").scan().to_arrow()
    purchases = catalog.load_table("analytics.fct_purchases").scan().to_arrow()
    known = {
        user
        for user, created in zip(
            customers["user_id"].to_pylist(), customers["created_at"].to_pylist(), strict=True
        )
        if created < cutoff
    }
    paid = {
        user
        for user, created, paid_at in zip(
            purchases["user_id"].to_pylist(),
            purchases["created_at"].to_pylist(),
            purchases["purchased_at"].to_pylist(),
            strict=True,
        )
        if created < cutoff and paid_at is not None and paid_at < cutoff
    }
    return len(known & paid)


def test_the_churn_set_holds_every_customer_who_paid_before_the_cutoff(demos: Demos) -> None:
    [event] = demos.instance.fetch_materializations(
        dg.AssetKey(["ml", "churn_training_set"]), limit=1
    ).records
    metadata = event.asset_materialization.metadata
    reference = dt.date.fromisoformat(metadata["reference_date"].value)
    assert reference == pinned_now_date(demos)
    expected = _churn_population(demos.environ, reference)
    assert demos.second.tables["ml"]["churn_training_set"]["rows"] == expected
    if expected == 0:
        # Empty is honest only with its reason beside it, for the analyst who opens the asset.
        assert metadata["empty_reason"].value.startswith("no customer paid before the cutoff")
    else:
        assert "empty_reason" not in metadata


def pinned_now_date(demos: Demos) -> dt.date:
    return dt.date.fromisoformat(demos.since) + dt.timedelta(days=WINDOW_DAYS)


def test_the_first_run_backfills_the_window_and_the_second_only_the_current_month(
    demos: Demos,
) -> None:
    first, second = demos.first, demos.second
    current = MONTHLY.get_last_partition_key()
    assert current == month_of(pinned_now_date(demos))
    # 1,000 purchases fit in one run (backfill_rows_per_run): one run over every month.
    assert first.ranges == [(month_of(dt.date.fromisoformat(demos.since)), current)]
    # Nothing new was extracted and every month is done: the current month, nothing changed.
    assert second.ranges == [(current, current)]
    for layer in ("raw", "staging", "analytics"):
        for table, row in first.tables[layer].items():
            assert second.tables[layer][table]["rows"] == row["rows"], f"{layer}.{table}"
    for table in ("faker_users", "faker_products", "faker_purchases"):
        assert (
            second.tables["raw"][table]["snapshot_id"] == first.tables["raw"][table]["snapshot_id"]
        )
