"""The whole graph, raw -> staging -> analytics -> ml, as ``make demo`` runs it, on a fresh warehouse.

The real source-faker connector, the real Spark and dbt-duckdb, an in-memory instance. The
daily partitions start two years back (``--since``): Dagster books every partition of a
backfill (~6 ms per asset and partition), and the whole history is ~9,800 days; the demo's
own full-history run is ``make demo``. source-faker's product list is fixed at 100 and its
purchases point at all of them, so ``LAKEHOUSE_FAKER_COUNT`` stays >= 100 or the fact's
relationship test would rightly fail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.catalog import build_catalog
from lakehouse.demo import RANGE_END_TAG, RANGE_START_TAG, run_demo
from lakehouse.inventory import list_tables
from lakehouse.partitions import DAILY
from lakehouse.settings import load_settings

pytestmark = pytest.mark.slow
LAYERS = ("raw", "staging", "analytics", "ml")
SINCE = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=730)).isoformat()


@dataclass
class Demo:
    code: int
    lines: list[str]
    tables: dict[str, dict[str, dict]]  # layer -> table -> inventory row
    ranges: list[tuple[str, str]]  # the staging+analytics runs' partition ranges


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Demo, Demo, dict[str, str]]:
    """Two demos in a row on one warehouse and instance: the second has nothing new."""
    environ = {
        "LAKEHOUSE_HOME": str(tmp_path_factory.mktemp("whole-graph")),
        "LAKEHOUSE_FAKER_COUNT": "1000",
    }
    instance = dg.DagsterInstance.ephemeral()
    catalog = build_catalog(load_settings(environ))
    runs = []
    for _ in range(2):
        lines: list[str] = []
        code = run_demo(environ, instance, echo=lines.append, first_day=SINCE)
        tables: dict[str, dict[str, dict]] = {layer: {} for layer in LAYERS}
        for row in list_tables(catalog, list(LAYERS)):
            tables[row["namespace"]][row["table"]] = row
        transforms = instance.get_runs(filters=dg.RunsFilter(job_name="daily_transforms_job"))
        ranges = [(run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) for run in transforms]
        runs.append(Demo(code, lines, tables, ranges[: len(ranges) - len(runs)]))
    return runs[0], runs[1], environ


def test_every_stage_succeeds_and_no_check_fails(demos) -> None:
    for demo in demos[:2]:
        assert demo.code == 0, "\n".join(demo.lines)
        stages = [
            line.split("(")[1].split(")")[0].split()[0]
            for line in demo.lines
            if line.startswith("run ")
        ]
        assert stages == ["raw", "staging+analytics", "ml"], demo.lines
        assert not [line for line in demo.lines if line.startswith("check failed")], demo.lines


def test_every_layer_holds_tables_with_rows(demos) -> None:
    first, _, environ = demos
    rows = {layer: {t: r["rows"] for t, r in first.tables[layer].items()} for layer in LAYERS}
    assert set(rows["raw"]) == {"faker_users", "faker_products", "faker_purchases"}
    assert {"users", "products", "purchases"} <= set(rows["staging"])
    assert {"dim_customers", "dim_products", "fct_purchases", "daily_revenue"} <= set(
        rows["analytics"]
    )
    assert rows["ml"], "no ml table"
    empty = [f"{layer}.{t}" for layer in LAYERS for t, n in rows[layer].items() if n == 0]
    assert not empty, empty
    assert rows["raw"]["faker_users"] == 1000
    # Nothing lost on the way: every raw purchase of the window reaches staging and the fact.
    raw = build_catalog(load_settings(environ)).load_table("raw.faker_purchases").scan().to_arrow()
    since = dt.datetime.fromisoformat(SINCE).replace(tzinfo=dt.UTC)
    in_window = pc.sum(
        pc.greater_equal(raw["created_at"], pa.scalar(since, raw.schema.field("created_at").type))
    ).as_py()
    assert rows["staging"]["purchases"] == rows["analytics"]["fct_purchases"] == in_window > 0


def test_the_first_run_backfills_the_window_and_the_second_only_today(demos) -> None:
    first, second, _ = demos
    today = DAILY.get_last_partition_key()
    assert first.ranges == [(SINCE, today)]
    # Nothing new was extracted and every day is done: one partition, and nothing changed.
    assert second.ranges == [(today, today)]
    for layer in ("raw", "staging", "analytics"):
        for table, row in first.tables[layer].items():
            assert second.tables[layer][table]["rows"] == row["rows"], f"{layer}.{table}"
    for table in ("faker_users", "faker_products", "faker_purchases"):
        assert (
            second.tables["raw"][table]["snapshot_id"] == first.tables["raw"][table]["snapshot_id"]
        )
