"""The demo's summary says what reached main and what went to quarantine, never "new" rows
that a gate held back."""

from __future__ import annotations

import dagster as dg

from lakehouse.cli.demo import published_and_quarantined

WRITTEN = {"rows_written": dg.MetadataValue.int(999), "airbyte/records_refused": 3}


def test_a_rejected_batch_is_quarantined_not_published():
    gate = {
        "rows_published": dg.MetadataValue.int(0),
        "rows_quarantined": dg.MetadataValue.int(999),
    }
    assert published_and_quarantined(WRITTEN, gate) == (0, 1002)


def test_good_rows_published_and_bad_ones_quarantined():
    gate = {
        "rows_published": dg.MetadataValue.int(990),
        "rows_quarantined": dg.MetadataValue.int(9),
    }
    assert published_and_quarantined(WRITTEN, gate) == (990, 12)


def test_an_ungated_write_is_published_as_written():
    assert published_and_quarantined({"rows_written": dg.MetadataValue.int(5)}, {}) == (5, 0)
    assert published_and_quarantined({}, {}) == (0, 0)
