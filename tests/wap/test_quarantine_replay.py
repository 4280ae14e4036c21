"""Quarantined rows replay after a fix: published exactly once, failing rows stay quarantined,
and a replay that fixes nothing changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.quality import validate_rows
from lakehouse.raw.schemas import SCHEMAS
from lakehouse.wap.quarantine import BATCH, FINGERPRINT, read_quarantine
from lakehouse.wap.replay import REPLAY_PROPERTY, replay
from tests.raw.raw_batches import products
from tests.wap.conftest import main_ids_by_duckdb

IDENTIFIER = ("raw", "faker_products")
LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


def _contract(table: pa.Table):
    return validate_rows(SCHEMAS["products"], table)


def _fix_prices(rows: pa.Table) -> pa.Table:
    price = pc.abs(pc.fill_null(rows["price"], 0.0))
    return rows.set_column(rows.schema.get_field_index("price"), "price", price)


@pytest.fixture
def rejected(run_products, catalog) -> pa.Table:
    """Main holds ids 1-2; a rejected batch put ids 3-5 in quarantine (3 and 4 are bad)."""
    assert run_products(products([1, 2], [1.0, 2.0]))[0].success
    assert not run_products(products([3, 4, 5], [-3.0, None, 5.0]))[0].success
    return read_quarantine(catalog, IDENTIFIER)


def test_a_replay_after_a_fix_publishes_the_rows_once(catalog, rejected):
    result = replay(catalog, IDENTIFIER, _contract, fix=_fix_prices)

    assert (result.batches, result.published_rows, result.still_failing_rows) == (1, 3, 0)
    assert main_ids_by_duckdb(catalog) == [1, 2, 3, 4, 5]
    assert read_quarantine(catalog, IDENTIFIER).num_rows == 0
    assert list(catalog.load_table("raw.faker_products").refs()) == ["main"]
    # Run again, and again with the batch back as if the first replay died before clearing it.
    assert replay(catalog, IDENTIFIER, _contract, fix=_fix_prices).batches == 0
    quarantine = catalog.load_table("raw.faker_products__quarantine")
    quarantine.append(rejected.cast(quarantine.schema().as_arrow()))
    again = replay(catalog, IDENTIFIER, _contract, fix=_fix_prices)
    assert again.already_published == [rejected[BATCH][0].as_py()]
    assert main_ids_by_duckdb(catalog) == [1, 2, 3, 4, 5]
    assert read_quarantine(catalog, IDENTIFIER).num_rows == 0
    summaries = [s.summary for s in catalog.load_table("raw.faker_products").snapshots()]
    assert sum(1 for s in summaries if s and s.get(REPLAY_PROPERTY)) >= 1


def test_a_replay_without_a_fix_publishes_the_good_rows_and_keeps_the_bad(catalog, rejected):
    result = replay(catalog, IDENTIFIER, _contract)

    assert (result.published_rows, result.still_failing_rows) == (1, 2)
    assert main_ids_by_duckdb(catalog) == [1, 2, 5]
    left = read_quarantine(catalog, IDENTIFIER)
    assert sorted(left["id"].to_pylist()) == [3, 4]
    before = rejected.filter(pc.is_in(rejected["id"], pa.array([3, 4])))
    # The failing rows are kept as they were (content, reasons), in a batch of their own.
    keep = ["id", "price", "_quarantine_rule", "_quarantine_reasons", FINGERPRINT]
    assert left.select(keep).sort_by("id").equals(before.select(keep).sort_by("id"))
    assert left[BATCH][0].as_py() != rejected[BATCH][0].as_py()
    assert list(catalog.load_table("raw.faker_products").refs()) == ["main"]


def _quarantine_snapshot(catalog) -> pa.Table:
    rows = read_quarantine(catalog, IDENTIFIER)
    return rows.drop_columns(["_quarantine_at"]).sort_by([(FINGERPRINT, "ascending")])


def test_a_replay_that_fixes_nothing_changes_nothing(run_products, catalog):
    """Every row still fails: `0 published, N still failing`, no crash (`take([])` on an empty
    selection), the quarantine exactly as it was (not doubled) and no replay branch left."""
    assert run_products(products([1], [1.0]))[0].success
    assert not run_products(products([3, 4], [-3.0, None]))[0].success
    before = _quarantine_snapshot(catalog)
    assert before.num_rows == 2

    for _ in range(2):
        result = replay(catalog, IDENTIFIER, _contract)
        assert (result.published_rows, result.still_failing_rows) == (0, 2)
        assert "0 published, 2 still failing" in result.summary()
        assert _quarantine_snapshot(catalog).equals(before)
        assert not any(
            ref.startswith("audit/replay-")
            for ref in catalog.load_table("raw.faker_products").refs()
        )
    assert main_ids_by_duckdb(catalog) == [1]


def test_a_batch_refused_again_is_not_quarantined_twice(run_products, catalog):
    """The same records re-read and refused on every run (products are re-read by each sync)
    stay in quarantine once: key and content decide, not the run or the extraction id."""
    assert run_products(products([1], [1.0]))[0].success
    for attempt in range(3):
        batch = products([3, 4], [-3.0, 4.0])
        raw_ids = pa.array([f"attempt-{attempt}-{i}" for i in (3, 4)])
        batch = batch.set_column(
            batch.schema.get_field_index("_airbyte_raw_id"), "_airbyte_raw_id", raw_ids
        )
        result, _ = run_products(
            batch, metadata={"wap/volatile_columns": ["_airbyte_raw_id", "_airbyte_extracted_at"]}
        )
        assert not result.success
        (check,) = result.get_asset_check_evaluations()
        assert check.metadata["rows_quarantined"].value == 2
        assert check.metadata["rows_published"].value == 0
    assert sorted(read_quarantine(catalog, IDENTIFIER)["id"].to_pylist()) == [3, 4]


def test_the_cli_lists_and_replays_the_quarantine(tmp_path, rejected):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["LAKEHOUSE_HOME"] = str(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LAKEHOUSE), "quarantine", *args], env=env, capture_output=True, text=True
        )

    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["table"], row["rows"], row["batches"]) == ("raw.faker_products", 3, 1)
    assert row["rules"] == {
        "greater_than_or_equal_to(0)": 1,
        "not_nullable": 1,
        "batch_rejected": 1,
    }
    replayed = cli("replay", "raw.faker_products")
    assert replayed.returncode == 0, replayed.stderr
    assert "1 published, 2 still failing" in replayed.stdout
