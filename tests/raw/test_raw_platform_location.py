"""The whole code location loads with platform settings while no platform server is up.

Only the Airbyte API answers (the recorded stand-in on loopback, as the state dagster-airbyte
fetches at load); the REST catalog, MinIO, Trino and Spark Connect point at closed ports, so a
load that contacted any of them would fail here. The graph must be the embedded one, key for key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_replay import CLIENT_ID, CLIENT_SECRET, WORKSPACE_ID, RecordedAirbyte

from lakehouse.analytics.prepare import prepare

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
CLOSED = "127.0.0.1:9"  # the discard port: nothing listens on it here

PROBE = """
import json, sys
import lakehouse.definitions as location
graph = location.defs.resolve_asset_graph()
from pyspark.sql import SparkSession
print(json.dumps({
    "assets": sorted(k.to_user_string() for k in graph.get_all_asset_keys()),
    "checks": sorted(k.to_user_string() for k in graph.asset_check_keys),
    "jobs": sorted(job.name for job in location.defs.resolve_all_job_defs()),
    "table_names": {
        k.to_user_string(): str(getattr(v, "value", v))
        for k in graph.get_all_asset_keys()
        if (v := graph.get(k).metadata.get("dagster/table_name")) is not None
    },
    "airbyte_imported": "airbyte" in sys.modules,
    "dbt_parsed": "dbt.parser.manifest" in sys.modules,
    "spark_session": SparkSession._instantiatedSession is not None,
}))
"""


@pytest.fixture(scope="module", autouse=True)
def trino_manifest() -> None:
    """The platform reads the Trino manifest, built ahead as the image build does."""
    prepare("trino")


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    return env | {"LAKEHOUSE_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)} | settings


def _platform(airbyte_url: str) -> dict[str, str]:
    return {
        "LAKEHOUSE_RUNTIME": "platform",
        "LAKEHOUSE_CATALOG_TYPE": "rest",
        "LAKEHOUSE_CATALOG_URI": f"http://{CLOSED}/catalog",
        "LAKEHOUSE_WAREHOUSE": "lakehouse",
        "LAKEHOUSE_S3_ENDPOINT": f"http://{CLOSED}",
        "LAKEHOUSE_SPARK_REMOTE": f"sc://{CLOSED}",
        "LAKEHOUSE_DBT_TARGET": "trino",
        "LAKEHOUSE_TRINO_HOST": "127.0.0.1",
        "LAKEHOUSE_TRINO_PORT": "9",
        "LAKEHOUSE_AIRBYTE_API_URL": airbyte_url,
        "LAKEHOUSE_AIRBYTE_WORKSPACE_ID": WORKSPACE_ID,
        "LAKEHOUSE_AIRBYTE_CLIENT_ID": CLIENT_ID,
        "LAKEHOUSE_AIRBYTE_CLIENT_SECRET": CLIENT_SECRET,
    }


def _probe(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dagster_validates_the_location_with_platform_settings(
    airbyte_api: tuple[RecordedAirbyte, str], tmp_path
):
    api, url = airbyte_api
    result = subprocess.run(
        [BIN / "dagster", "definitions", "validate", "-m", "lakehouse.definitions"],
        cwd=ROOT,
        env=_env(tmp_path, **_platform(url)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    # The connections were read from the Airbyte API (the platform path really ran).
    assert any(call.endswith("/connections") for call in api.calls())


def test_platform_graph_is_the_embedded_graph_and_loading_starts_nothing(
    airbyte_api: tuple[RecordedAirbyte, str], tmp_path
):
    _, url = airbyte_api
    platform = _probe(_env(tmp_path / "platform", **_platform(url)))
    embedded = _probe(_env(tmp_path / "embedded"))

    assert platform["assets"] == embedded["assets"]
    assert {"raw/faker_users", "staging/purchases", "analytics/fct_purchases"} <= set(
        platform["assets"]
    )
    assert any(key.startswith("ml/") for key in platform["assets"])
    assert platform["jobs"] == embedded["jobs"]
    # The UI names the Iceberg table on both runtimes, dbt-trino's models included.
    assert platform["table_names"] == embedded["table_names"]
    assert platform["table_names"]["analytics/fct_purchases"] == "lakehouse.analytics.fct_purchases"
    # dbt tests become checks from either manifest; the pandera contracts are the same.
    assert [c for c in platform["checks"] if not c.startswith("analytics/")] == [
        c for c in embedded["checks"] if not c.startswith("analytics/")
    ]
    assert any(c.startswith("analytics/") for c in platform["checks"])
    for loaded in (platform, embedded):
        assert loaded["airbyte_imported"] is False
        assert loaded["dbt_parsed"] is False
        assert loaded["spark_session"] is False
