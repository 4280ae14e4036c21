"""Write-audit-publish through Dagster: a bad batch never becomes main, and no row is lost."""

from __future__ import annotations

import json

import dagster as dg
import pyarrow.compute as pc

from lakehouse.iceberg.branches import audit_branch, branch_head, read_branch
from lakehouse.wap.quarantine import (
    AT,
    COLUMN,
    REASONS,
    RULE,
    RUN_ID,
    read_quarantine,
)
from tests.raw.raw_batches import products
from tests.wap.conftest import TABLE, main_ids_by_duckdb

IDENTIFIER = ("raw", "faker_products")
PUBLISH_GOOD = {"wap/on_bad_rows": "publish_good_rows", "wap/max_bad_fraction": 0.5}


def _evaluation(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_a_failing_batch_leaves_main_at_its_previous_snapshot(run_products, catalog):
    good, seen = run_products(products([1, 2, 3], [10.0, 20.0, 30.0]))
    assert good.success and seen == [1, 2, 3]
    table = catalog.load_table(TABLE)
    before = table.current_snapshot().snapshot_id
    assert list(table.refs()) == ["main"], "a published audit branch is dropped"

    bad, seen = run_products(products([4, 4, 5, 6], [-1.0, 5.0, None, 7.0]))

    assert not bad.success and seen == [], "downstream ran after a rejected batch"
    table = catalog.load_table(TABLE)
    assert table.current_snapshot().snapshot_id == before
    assert main_ids_by_duckdb(catalog) == [1, 2, 3]  # an independent reader of main
    branch = audit_branch(bad.run_id)
    head = branch_head(table, branch)
    assert head is not None, "the rejected batch's branch is kept for inspection"
    assert sorted(read_branch(catalog, TABLE, branch)["id"].to_pylist()) == [1, 2, 3, 4, 4, 5, 6]
    evaluation = _evaluation(bad)
    assert not evaluation.passed
    assert evaluation.metadata["wap/branch"].value == branch
    assert evaluation.metadata["wap/snapshot_id"].value == head.snapshot_id
    assert evaluation.metadata["wap/published"].value is False
    # all or nothing: the whole batch is in quarantine, the bad rows with their reasons
    quarantined = read_quarantine(catalog, IDENTIFIER)
    assert sorted(quarantined["id"].to_pylist()) == [4, 4, 5, 6]
    assert set(quarantined[RUN_ID].to_pylist()) == {bad.run_id}
    reasons = {
        (row["id"], row["price"]): {(r["column"], r["rule"]) for r in json.loads(row[REASONS])}
        for row in quarantined.to_pylist()
    }
    assert reasons[(4, -1.0)] == {
        ("id", "field_uniqueness"),
        ("price", "greater_than_or_equal_to(0)"),
    }
    assert reasons[(4, 5.0)] == {("id", "field_uniqueness")}
    assert reasons[(5, None)] == {("price", "not_nullable")}
    assert reasons[(6, 7.0)] == {("<batch>", "batch_rejected")}


def test_publish_good_rows_quarantines_exactly_the_bad_rows(run_products, catalog):
    assert run_products(products([1], [10.0]))[0].success

    result, seen = run_products(
        products([2, 3, 4, 5], [20.0, -3.0, 40.0, None]), metadata=PUBLISH_GOOD
    )

    assert result.success, "a WARN from the gate does not block downstream"
    assert seen == [1, 2, 4]
    assert main_ids_by_duckdb(catalog) == [1, 2, 4]
    evaluation = _evaluation(result)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["wap/published"].value is True
    assert evaluation.metadata["wap/quarantined_rows"].value == 2
    quarantined = read_quarantine(catalog, IDENTIFIER).sort_by("id")
    assert quarantined["id"].to_pylist() == [3, 5]
    assert quarantined[RULE].to_pylist() == ["greater_than_or_equal_to(0)", "not_nullable"]
    assert quarantined[COLUMN].to_pylist() == ["price", "price"]
    assert quarantined[RUN_ID].to_pylist() == [result.run_id] * 2
    assert pc.min(quarantined[AT]).as_py() is not None
    assert list(catalog.load_table(TABLE).refs()) == ["main"]


def test_above_the_max_bad_fraction_nothing_is_published(run_products, catalog):
    assert run_products(products([1], [10.0]))[0].success

    result, seen = run_products(products([2, 3, 4], [-1.0, -2.0, 30.0]), metadata=PUBLISH_GOOD)

    assert not result.success and seen == []
    assert main_ids_by_duckdb(catalog) == [1]
    assert sorted(read_quarantine(catalog, IDENTIFIER)["id"].to_pylist()) == [2, 3, 4]


def test_no_gate_in_the_run_or_an_opt_out_writes_main_directly(run_products, catalog):
    direct, _ = run_products(products([1], [10.0]), with_gate=False)
    assert direct.success
    opted_out, seen = run_products(products([2], [-1.0]), metadata={"wap/enabled": False})

    # The opt-out keeps the old behaviour: the row is on main before the check fails.
    assert not opted_out.success and seen == []
    assert main_ids_by_duckdb(catalog) == [1, 2]
    assert list(catalog.load_table(TABLE).refs()) == ["main"]
    assert read_quarantine(catalog, IDENTIFIER) is None
    (materialization,) = opted_out.get_asset_materialization_events()
    assert materialization.materialization.metadata["wap/branch"].value == "main"
