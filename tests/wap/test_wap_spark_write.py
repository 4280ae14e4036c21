"""Write-audit-publish when Spark writes natively (the platform path): same branch, same gate.

Spark has no Iceberg runtime here, so pyiceberg stands in for Spark's write (what
``spark/iceberg_io.write_table`` commits: the given request on the given branch); everything
around it runs for real: the staging IO manager with the platform path selected, the gate's
audit and publish, and the publish of a ``spark/submit.py`` branch by ``lakehouse publish-staged``
(``lakehouse/staging/publish_staged.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import pandera.pandas as pa_schema
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table.snapshots import ancestors_of
from pyspark.sql import SparkSession

from lakehouse.iceberg import WriteRequest, write
from lakehouse.iceberg.branches import audit_branch, branch_head, read_branch
from lakehouse.iceberg.write_request import REQUEST_PROPERTY
from lakehouse.settings import load_settings
from lakehouse.staging import SparkIcebergIOManager
from lakehouse.staging.publish_staged import audit_staged_branch
from lakehouse.wap.gate import build_pandera_check
from spark import branches, iceberg_io
from tests.analytics.staging_data import products

EVENTS = dg.AssetKey(["staging", "events"])
SCHEMA = pa_schema.DataFrameSchema(
    {"id": pa_schema.Column(int, pa_schema.Check.ge(0), unique=True)}
)


@pytest.fixture
def spark_writes(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Select the platform path and record each native write, committed by pyiceberg."""
    calls: list[dict[str, Any]] = []

    def write_table(df: Any, name: str, **options: Any) -> None:
        calls.append({"name": name, **options})
        _, *identifier = name.split(".")
        branch, properties = options.get("branch"), options.get("properties") or {}
        if branch is None:
            request = WriteRequest(tuple(identifier), snapshot_properties=properties)
        else:  # the audit knows the batch by the request Spark's commit records: use only that
            request = WriteRequest.from_json(properties[REQUEST_PROPERTY], branch=branch)
            assert request.identifier == tuple(identifier)
        write(catalog, df.toArrow(), request)

    monkeypatch.setattr(iceberg_io, "write_table", write_table)
    monkeypatch.setattr("lakehouse.staging.io_manager.native_iceberg", lambda settings: True)
    return calls


def _run(
    spark: SparkSession, environment: dict[str, str], make: Callable[[], Any]
) -> tuple[dg.ExecuteInProcessResult, list[int]]:
    seen: list[int] = []

    @dg.asset(key=EVENTS, io_manager_key="spark_io_manager")
    def events() -> Any:
        return make()

    @dg.asset(key=["analytics", "events_probe"], ins={"rows": dg.AssetIn(EVENTS)})
    def probe(rows: pa.Table) -> None:
        seen.extend(sorted(rows["id"].to_pylist()))

    io_manager = SparkIcebergIOManager(settings=load_settings(environment))
    result = dg.materialize(
        [events, probe, build_pandera_check(EVENTS, lambda: SCHEMA, description="ids")],
        resources={"spark_io_manager": io_manager, "io_manager": io_manager},
        raise_on_error=False,
    )
    return result, seen


def test_spark_writes_the_audit_branch_and_a_failing_check_leaves_main_untouched(
    spark: SparkSession,
    environment: dict[str, str],
    catalog: Catalog,
    spark_writes: list[dict[str, Any]],
) -> None:
    good, seen = _run(spark, environment, lambda: spark.range(3))

    assert good.success and seen == [0, 1, 2]
    [call] = spark_writes
    assert call["name"] == "lakehouse.staging.events"
    assert call["branch"] == audit_branch(good.run_id), "Spark wrote main directly"
    [materialization] = good.asset_materializations_for_node("staging__events")
    assert materialization.metadata["wap/branch"].value == audit_branch(good.run_id)
    assert materialization.metadata["written_by"].value == "spark"
    table = catalog.load_table("staging.events")
    published = table.current_snapshot().snapshot_id
    assert list(table.refs()) == ["main"], "the published branch is dropped"

    bad, seen = _run(spark, environment, lambda: spark.range(-1, 5))

    assert not bad.success and seen == [], "downstream ran after a rejected batch"
    [evaluation] = bad.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.metadata["wap/published"].value is False
    assert spark_writes[-1]["branch"] == audit_branch(bad.run_id)
    table = catalog.load_table("staging.events")
    assert table.current_snapshot().snapshot_id == published
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [0, 1, 2]
    kept = read_branch(catalog, "staging.events", audit_branch(bad.run_id))
    assert sorted(kept["id"].to_pylist()) == [-1, 0, 1, 2, 3, 4]


def _stage_as_spark_submit(catalog: Catalog, rows: pa.Table, run_id: str) -> None:
    """What ``spark/submit.py products --run-id <run_id>`` commits: the branch and its request."""
    recorded = branches.write_request_json(
        ("staging", "products"),
        partition_column=None,
        window=None,
        properties={"lakehouse.job": "spark/submit.py products"},
    )
    write(catalog, rows, WriteRequest.from_json(recorded, branch=branches.audit_branch(run_id)))


def test_a_spark_submit_branch_is_published_only_when_the_contract_passes(
    environment: dict[str, str],
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _stage_as_spark_submit(catalog, products(), "s1")
    assert catalog.load_table("staging.products").current_snapshot() is None, "main stays empty"

    outcome = audit_staged_branch(load_settings(environment), "products", "s1")

    assert outcome.published, outcome.reason
    table = catalog.load_table("staging.products")
    assert sorted(table.scan().to_arrow()["product_id"].to_pylist()) == [10, 20]
    main = table.current_snapshot().snapshot_id

    negative = products().set_column(4, "price", pa.array([-1.0, 5.0]))
    _stage_as_spark_submit(catalog, negative, "s2")
    for key, value in environment.items():  # the command reads the process settings
        monkeypatch.setenv(key, value)
    from lakehouse.cli import main as lakehouse_command

    assert lakehouse_command(["publish-staged", "products", "--run-id", "s2"]) == 1, "kept: 1"

    assert "main not changed" in capsys.readouterr().out
    table = catalog.load_table("staging.products")
    assert table.current_snapshot().snapshot_id == main
    assert branch_head(table, audit_branch("s2")) is not None, "kept for inspection"


def test_a_spark_submit_branch_is_rebased_and_audited_again_when_main_moved(
    environment: dict[str, str], catalog: Catalog
) -> None:
    _stage_as_spark_submit(catalog, products(), "s1")
    assert audit_staged_branch(load_settings(environment), "products", "s1").published
    _stage_as_spark_submit(catalog, products(), "s2")
    # Another writer commits to main between Spark's write and the publish.
    other = write(catalog, products().slice(0, 1), WriteRequest(("staging", "products")))

    outcome = audit_staged_branch(load_settings(environment), "products", "s2")

    assert outcome.published and outcome.attempts == 2, outcome.reason
    table = catalog.load_table("staging.products")
    history = {
        snapshot.snapshot_id for snapshot in ancestors_of(table.current_snapshot(), table.metadata)
    }
    assert other.snapshot.snapshot_id in history, "the other writer's commit was dropped"
    assert sorted(table.scan().to_arrow()["product_id"].to_pylist()) == [10, 20]
