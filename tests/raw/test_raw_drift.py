"""Schema drift on raw ingest (issue 15): the real source-faker, its users changed on the way.
A column the contract lacks is accepted and recorded; a declared column the source stops
sending holds the batch in quarantine (nothing lost, main unchanged) until the contract is
updated, and then the replay publishes it."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from lakehouse.catalog import build_catalog
from lakehouse.io_manager import IcebergIOManager
from lakehouse.quality import validate_rows
from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.drift import BREAKING_DRIFT, drift_released
from lakehouse.raw.schemas import SCHEMAS
from lakehouse.raw.streams import ASSET_KEYS, STREAMS_BY_NAME
from lakehouse.settings import load_settings
from lakehouse.wap.quarantine import RULE, read_quarantine
from lakehouse.wap.replay import replay

pytestmark = pytest.mark.slow
USERS = STREAMS_BY_NAME["users"]
# Adds loyalty_tier to every users record; in "drop" mode removes occupation too, and reads
# from scratch (faker sends nothing more once it has state): users 1..40 again.
CHANGE = """
import json, subprocess, sys
drop = sys.argv[1] == "drop"
command = sys.argv[2:]
if drop and "--state" in command:
    at = command.index("--state")
    command = command[:at] + command[at + 2:]
with subprocess.Popen(command, stdout=subprocess.PIPE) as connector:
    for line in connector.stdout:
        message = json.loads(line) if line.startswith(b"{") else {}
        record = message.get("record") or {}
        if message.get("type") == "RECORD" and record.get("stream") == "users":
            record["data"]["loyalty_tier"] = "gold"
            if drop:
                record["data"].pop("occupation", None)
            line = json.dumps(message).encode() + b"\\n"
        sys.stdout.buffer.write(line)
sys.exit(connector.wait())
"""


def _sync(home: Path, count: int, mode: str) -> dg.ExecuteInProcessResult:
    real = load_settings({}).faker_executable_path
    if not real.exists():
        pytest.fail(f"{real} is missing: run scripts/bootstrap-connectors.sh (make setup does)")
    script, wrapper = home / "change.py", home / f"faker-{mode}"
    script.write_text(CHANGE)
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {script} {mode} {real} "$@"\n')
    wrapper.chmod(0o700)
    settings = load_settings(
        {
            "LAKEHOUSE_HOME": str(home),
            "LAKEHOUSE_FAKER_COUNT": str(count),
            "LAKEHOUSE_FAKER_EXECUTABLE": str(wrapper),
        }
    )
    assets = [*build_raw_assets(settings), *build_raw_checks({"users": ASSET_KEYS["users"]})]
    with dg.instance_for_test() as instance:
        return dg.materialize(
            assets,
            selection=dg.AssetSelection.assets(ASSET_KEYS["users"]),
            resources={"io_manager": IcebergIOManager(settings=settings)},
            instance=instance,
            raise_on_error=False,
        )


def test_an_added_column_is_recorded_a_dropped_one_held_until_the_contract_changes(
    tmp_path, monkeypatch
):
    catalog = build_catalog(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))
    added = _sync(tmp_path, 20, "add")
    assert added.success
    (materialised,) = added.asset_materializations_for_node("airbyte_source_faker")
    assert materialised.metadata["airbyte/schema_drift"].value == "added loyalty_tier"
    main = catalog.load_table(USERS.identifier).scan().to_arrow()
    assert main.num_rows == 20 and set(main["loyalty_tier"].to_pylist()) == {"gold"}

    dropped = _sync(tmp_path, 40, "drop")  # users 1..40, without occupation
    (gate,) = dropped.get_asset_check_evaluations()
    assert not gate.passed  # the gate held the batch: downstream waits
    assert gate.metadata["rows_published"].value == 0
    assert catalog.load_table(USERS.identifier).scan().to_arrow().num_rows == 20
    held = read_quarantine(catalog, USERS.identifier)
    assert held is not None and held.num_rows == 40
    assert set(held[RULE].to_pylist()) == {BREAKING_DRIFT}

    validate = lambda table: validate_rows(SCHEMAS["users"], table)  # noqa: E731
    still = replay(catalog, USERS.identifier, validate, release=drift_released)
    assert still.published_rows == 0  # the contract still declares occupation
    assert read_quarantine(catalog, USERS.identifier).num_rows == 40

    contract = pa.schema([f for f in USERS.schema if f.name != "occupation"])
    monkeypatch.setitem(STREAMS_BY_NAME, "users", dataclasses.replace(USERS, schema=contract))
    released = replay(catalog, USERS.identifier, validate, release=drift_released)
    assert released.published_rows == 40
    main = catalog.load_table(USERS.identifier).scan().to_arrow()
    assert sorted(main["id"].to_pylist()) == list(range(1, 41))  # nothing lost
    assert read_quarantine(catalog, USERS.identifier).num_rows == 0
