"""A malformed raw batch fails its blocking pandera check: nothing downstream runs, and the
table's previous snapshot stays readable."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
from raw_batches import products

from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.streams import ASSET_KEYS
from lakehouse.settings import load_settings


def _materialize(
    batch: pa.Table, tmp_path, downstream_runs: list[int]
) -> dg.ExecuteInProcessResult:
    @dg.asset(key=ASSET_KEYS["products"], metadata={"write_mode": "overwrite"})
    def faker_products() -> pa.Table:
        return batch

    @dg.asset(key=["staging", "products_probe"], deps=[faker_products])
    def downstream() -> None:
        downstream_runs.append(1)

    (products_check,) = build_raw_checks({"products": ASSET_KEYS["products"]})
    return dg.materialize(
        [faker_products, downstream, products_check],
        resources={
            "io_manager": IcebergIOManager(
                settings=load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
            )
        },
        raise_on_error=False,
    )


def test_a_malformed_batch_is_blocked_and_the_previous_snapshot_stays(tmp_path, catalog):
    runs: list[int] = []
    good = _materialize(products([1, 2, 3], [10.0, 20.0, 30.0]), tmp_path, runs)
    assert good.success
    assert runs == [1]
    table = catalog.load_table("raw.faker_products")
    good_snapshot = table.current_snapshot().snapshot_id

    bad = products([4, 4, 5, 6], [-1.0, 5.0, None, 7.0])
    blocked = _materialize(bad, tmp_path, runs)

    assert not blocked.success
    assert runs == [1], "the downstream asset ran after a failed blocking check"
    (evaluation,) = blocked.get_asset_check_evaluations()
    assert not evaluation.passed
    report = evaluation.metadata["summary"].value
    assert "id: field_uniqueness failed on 2 row(s)" in report
    assert "price: greater_than_or_equal_to(0) failed on 1 row(s)" in report
    assert "price: not_nullable failed on 1 row(s)" in report
    assert evaluation.metadata["bad_rows"].value == 4
    previous = catalog.load_table("raw.faker_products").scan(snapshot_id=good_snapshot).to_arrow()
    assert sorted(previous["id"].to_pylist()) == [1, 2, 3]
