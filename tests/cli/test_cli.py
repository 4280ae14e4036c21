"""The operator command: `lakehouse tables` and `lakehouse doctor` against a real catalog."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from lakehouse.catalog import build_catalog
from lakehouse.settings import load_settings

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


def _run(
    *args: str, home: Path, prefix: Sequence[str] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """``lakehouse ARGS`` with only the given settings (``prefix``: a command wrapping it)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    return subprocess.run(
        [*prefix, str(LAKEHOUSE), *args],
        env=clean | {"LAKEHOUSE_HOME": str(home)} | env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_tables_json_lists_every_table_with_its_size(tmp_path):
    catalog = build_catalog(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))
    table = catalog.create_table("raw.faker_users", schema=pa.schema([("id", pa.int64())]))
    table.append(pa.table({"id": pa.array([1, 2, 3], pa.int64())}))
    table.append(pa.table({"id": pa.array([4], pa.int64())}))

    result = _run("tables", "--json", home=tmp_path)

    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["namespace"] == "raw"
    assert row["table"] == "faker_users"
    assert row["rows"] == 4
    assert row["data_files"] == 2
    assert row["snapshots"] == 2
    assert row["bytes"] > 0
    assert row["metadata_location"].endswith(".metadata.json")


def test_doctor_passes_on_a_working_embedded_setup(tmp_path):
    result = _run("doctor", home=tmp_path)
    assert "OK   catalog: sql catalog 'lakehouse'" in result.stdout
    assert "OK   warehouse:" in result.stdout
    assert "FAIL catalog" not in result.stdout


def test_doctor_names_an_unreachable_catalog_and_fails(tmp_path):
    result = _run(
        "doctor",
        home=tmp_path,
        LAKEHOUSE_CATALOG_URI="postgresql+psycopg2://postgres@127.0.0.1:1/none",
    )
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert line.startswith("FAIL catalog: cannot open the sql catalog 'lakehouse' at ")
    assert "127.0.0.1:1" in line and "check LAKEHOUSE_CATALOG_URI" in line


def test_a_wrong_setting_is_reported_not_a_traceback(tmp_path):
    result = _run("tables", home=tmp_path, LAKEHOUSE_CATALOG_TYPE="hive")
    assert result.returncode == 2
    assert "LAKEHOUSE_CATALOG_TYPE" in result.stderr
    assert "Traceback" not in result.stderr
