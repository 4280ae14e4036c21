"""The code location loads on the embedded runtime, cheaply, and fails clearly on bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import lakehouse.definitions as location
graph = location.defs.resolve_asset_graph()
from pyspark.sql import SparkSession
print(json.dumps({
    "assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
    "checks": len(graph.asset_check_keys),
    "airbyte_imported": "airbyte" in sys.modules,
    "pandera_imported": "pandera" in sys.modules,
    "spark_session": SparkSession._instantiatedSession is not None,
}))
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    return env | {"LAKEHOUSE_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)} | extra


def test_dagster_validates_the_embedded_location(tmp_path):
    result = subprocess.run(
        [BIN / "dagster", "definitions", "validate", "-m", "lakehouse.definitions"],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_loading_imports_no_airbyte_no_pandera_and_starts_no_spark(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"raw/faker_users", "raw/faker_products", "raw/faker_purchases"} <= set(loaded["assets"])
    assert loaded["checks"] >= 3
    assert loaded["airbyte_imported"] is False
    assert loaded["pandera_imported"] is False
    assert loaded["spark_session"] is False


def test_a_wrong_setting_stops_the_load_naming_the_variable(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import lakehouse.definitions"],
        env=_env(tmp_path, LAKEHOUSE_CATALOG_TYPE="glue"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "LAKEHOUSE_CATALOG_TYPE" in result.stderr
    assert "'sql' or 'rest'" in result.stderr
