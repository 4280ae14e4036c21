"""The real source-faker behind a hostile wrapper (``hostile_source.py``): about one record in a
hundred corrupted in every way the probe of issue 13 found, each change in a ledger. One sync
must publish the good rows of all three streams, put every corrupted record in quarantine with
its original value and a rule, and leave no record unaccounted for."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
import reliability_counts

from lakehouse.catalog import build_catalog
from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.streams import ASSET_KEYS, STREAMS_BY_NAME
from lakehouse.settings import load_settings
from lakehouse.wap.policy import SUPERSEDED
from lakehouse.wap.quarantine import ORIGINAL, REASONS, RULE, read_quarantine

pytestmark = pytest.mark.slow
HOSTILE = Path(__file__).with_name("hostile_source.py")
COUNT = 1500  # users and purchases: 15 corruptions each, one per kind
# Where the records of a stream nobody asked for go: the first selected stream's quarantine.
UNKNOWN_GOES_TO = "users"


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> dict:
    real = load_settings({}).faker_executable_path
    if not real.exists():
        pytest.fail(f"{real} is missing: run scripts/bootstrap-connectors.sh (make setup does)")
    home = tmp_path_factory.mktemp("hostile")
    ledger = home / "ledger.jsonl"
    wrapper = home / "hostile-faker"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {HOSTILE} {ledger} {real} "$@"\n')
    wrapper.chmod(0o700)
    environment = {
        "LAKEHOUSE_HOME": str(home),
        "LAKEHOUSE_FAKER_COUNT": str(COUNT),
        "LAKEHOUSE_FAKER_EXECUTABLE": str(wrapper),
    }
    settings = load_settings(environment)
    assets = [*build_raw_assets(settings), *build_raw_checks(ASSET_KEYS)]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets,
            resources={"io_manager": IcebergIOManager(settings=settings)},
            instance=instance,
            raise_on_error=False,
        )
    catalog = build_catalog(settings)
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    return {
        "result": result,
        "sent": next(e["counts"] for e in entries if e["kind"] == "_sent"),
        "ledger": [e for e in entries if e["kind"] != "_sent"],
        "main": {
            n: catalog.load_table(s.identifier).scan().to_arrow()
            for n, s in STREAMS_BY_NAME.items()
        },
        "quarantine": {
            n: read_quarantine(catalog, s.identifier) for n, s in STREAMS_BY_NAME.items()
        },
    }


def test_one_sync_publishes_the_good_rows_of_every_stream(synced):
    assert synced["result"].success
    corrupted = Counter(entry["stream"] for entry in synced["ledger"])
    for name, rows in synced["main"].items():
        # Every record the wrapper left alone, once (a duplicate's second copy is a ledger entry).
        assert rows.num_rows == synced["sent"][name] - corrupted[name], name


def test_every_record_sent_is_on_main_or_in_quarantine(synced):
    unaccounted = 0
    for name in STREAMS_BY_NAME:
        sent = synced["sent"][name] + (synced["sent"]["invoices"] if name == UNKNOWN_GOES_TO else 0)
        found = synced["main"][name].num_rows + synced["quarantine"][name].num_rows
        unaccounted += sent - found
        assert found == sent, name
    published = sum(rows.num_rows for rows in synced["main"].values())
    quarantined = sum(rows.num_rows for rows in synced["quarantine"].values())
    emitted = sum(synced["sent"].values())
    reliability_counts.add("hostile source", "records emitted", emitted)
    reliability_counts.add("hostile source", "records published", published)
    reliability_counts.add("hostile source", "records quarantined", quarantined)
    reliability_counts.add("hostile source", "records corrupted", len(synced["ledger"]))
    reliability_counts.add("hostile source", "records unaccounted", unaccounted)


def test_every_corrupted_record_is_in_quarantine_as_sent_with_a_rule(synced):
    kinds = Counter(entry["kind"] for entry in synced["ledger"])
    assert len(kinds) == 21 and min(kinds.values()) >= 1, kinds
    on_main = 0
    for entry in synced["ledger"]:
        stream = UNKNOWN_GOES_TO if entry["stream"] == "invoices" else entry["stream"]
        quarantine = synced["quarantine"][stream].to_pylist()
        ids = synced["main"][stream]["id"].to_pylist()
        if entry["kind"] == "duplicate_id":
            assert ids.count(entry["id"]) == 1
            assert any(r["id"] == entry["id"] and r[RULE] == SUPERSEDED for r in quarantine)
            continue
        (row,) = [r for r in quarantine if r[ORIGINAL] == entry["line"]]
        assert row[RULE], entry
        if entry["kind"] != "unknown_stream":
            on_main += entry["id"] in ids
    assert on_main == 0
    reliability_counts.add("hostile source", "corrupted values on main", on_main)


@pytest.mark.parametrize(
    ("kind", "rule", "value"),
    [
        ("price_text", "wrong_type", '"cheap"'),
        ("number_make", "wrong_type", "42"),
        ("fractional_year", "not_an_integer", "2019.7"),
        ("nan_price", "not_finite", "NaN"),
        ("infinite_price", "not_finite", "-Infinity"),
        ("number_name", "wrong_type", "12345"),
        ("control_characters", "control_characters", '"Bob\\u0000\\u001b[31mred\\u0007"'),
        ("address_text", "wrong_type", '"12 Main Street"'),
        ("null_id", "null_key", "null"),
        ("bad_timestamp", "unparseable_timestamp", '"last Tuesday"'),
        ("int64_overflow", "out_of_range", str(2**70)),
        ("lone_surrogate", "unparseable_record", None),
        ("invalid_utf8", "unparseable_record", None),
        ("malformed_json", "unparseable_record", None),
        ("data_not_object", "unparseable_record", None),
        ("unknown_stream", "unknown_stream", '"invoices"'),
    ],
)
def test_the_quarantine_names_the_rule_and_keeps_the_value(synced, kind, rule, value):
    entry = next(e for e in synced["ledger"] if e["kind"] == kind)
    stream = UNKNOWN_GOES_TO if entry["stream"] == "invoices" else entry["stream"]
    (row,) = [r for r in synced["quarantine"][stream].to_pylist() if r[ORIGINAL] == entry["line"]]
    reasons = json.loads(row[REASONS])
    assert rule in {reason["rule"] for reason in reasons}
    if value is not None:
        assert value in {reason.get("value") for reason in reasons}
