"""The demo's summary after a batch the gate refused: its rows counted as quarantined, none as
published (issue 13 found "999 new" printed for a batch nothing of which was published)."""

from __future__ import annotations

from lakehouse.cli.demo_report import PUBLISHED, QUARANTINED, report_rows
from tests.raw.raw_batches import products
from tests.wap.conftest import TABLE

PUBLISH_GOOD = {"wap/on_bad_rows": "publish_good_rows", "wap/max_bad_fraction": 0.5}


def test_a_refused_batch_is_reported_quarantined_not_published(run_products, catalog):
    first, _ = run_products(products([1], [10.0]))
    refused, _ = run_products(products([2, 3, 4], [-1.0, -2.0, 30.0]), metadata=PUBLISH_GOOD)
    assert first.success and not refused.success

    (row,) = [row for row in report_rows(catalog, [refused]) if row["table"] == TABLE]
    assert row == {"table": TABLE, "rows": 1, PUBLISHED: 0, QUARANTINED: 3}


def test_a_partly_good_batch_is_reported_as_both(run_products, catalog):
    result, _ = run_products(products([1, 2, 3], [10.0, -2.0, 30.0]), metadata=PUBLISH_GOOD)
    assert result.success

    (row,) = [row for row in report_rows(catalog, [result]) if row["table"] == TABLE]
    assert row == {"table": TABLE, "rows": 2, PUBLISHED: 2, QUARANTINED: 1}
