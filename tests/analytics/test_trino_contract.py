"""The Trino contract without a server: every model compiles for `trino` and parses as Trino SQL.

`dbt compile --target trino --no-populate-cache` renders the models through dbt-trino's macros
without connecting; sqlglot's Trino dialect then parses each statement, raising on any error.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from lakehouse.analytics.commits import WINDOW_END_ENV, WINDOW_START_ENV
from lakehouse.analytics.prepare import DBT_PROJECT_DIR, dbt_executable

MODELS = {
    "dim_customers",
    "dim_products",
    "fct_purchases",
    "daily_revenue",
    "customer_lifetime_value",
}
WINDOW = {
    WINDOW_START_ENV: "2024-01-02T00:00:00+00:00",
    WINDOW_END_ENV: "2024-01-03T00:00:00+00:00",
}


@pytest.fixture(scope="module")
def trino_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `dbt compile` for trino (with a partition window) into a target path of its own."""
    target_path = tmp_path_factory.mktemp("trino-target")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LAKEHOUSE_TRINO_", "DBT_"))
    }  # the profile's defaults, as a fresh machine has them
    env |= WINDOW  # the run's partition window, as Dagster hands it to dbt
    done = subprocess.run(
        [
            dbt_executable(),
            "compile",
            "--target",
            "trino",
            "--no-populate-cache",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target_path),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target_path


def compiled_sql(target_path: Path) -> list[Path]:
    return sorted((target_path / "compiled" / "lakehouse_analytics" / "models").rglob("*.sql"))


def compiled_models(target_path: Path) -> dict[str, str]:
    """Compiled models by name; compiled tests sit in folders named after their yml file."""
    return {
        path.stem: path.read_text()
        for path in compiled_sql(target_path)
        if not path.parent.name.endswith(".yml")
    }


def test_every_model_compiles_for_trino(trino_target: Path) -> None:
    assert set(compiled_models(trino_target)) == MODELS


@pytest.mark.parametrize("model", sorted(MODELS))
def test_compiled_model_parses_as_trino_sql(trino_target: Path, model: str) -> None:
    sql = compiled_models(trino_target)[model]
    statements = [
        statement
        for statement in sqlglot.parse(sql, read="trino", error_level=ErrorLevel.RAISE)
        if statement is not None
    ]
    assert len(statements) == 1, f"{model}: expected one SELECT"


def test_compiled_tests_parse_as_trino_sql(trino_target: Path) -> None:
    tests = [path for path in compiled_sql(trino_target) if path.parent.name.endswith(".yml")]
    assert len(tests) >= 20
    for path in tests:
        sqlglot.parse(path.read_text(), read="trino", error_level=ErrorLevel.RAISE)


@pytest.mark.parametrize(
    ("model", "key", "partition"),
    [
        ("fct_purchases", "purchase_id", "created_at"),
        ("daily_revenue", "revenue_date", "revenue_date"),
    ],
)
def test_partitioned_models_are_incremental_merges_over_the_window_on_trino(
    trino_target: Path, model: str, key: str, partition: str
) -> None:
    manifest = json.loads((trino_target / "manifest.json").read_text())
    config = manifest["nodes"][f"model.lakehouse_analytics.{model}"]["config"]
    assert (config["materialized"], config["incremental_strategy"], config["unique_key"]) == (
        "incremental",
        "merge",
        key,
    )
    assert config["properties"] == {"partitioning": f"ARRAY['day({partition})']"}
    sql = compiled_models(trino_target)[model]
    assert "from_iso8601_timestamp('2024-01-02T00:00:00+00:00')" in sql


def test_other_models_are_replaced_tables_on_trino(trino_target: Path) -> None:
    manifest = json.loads((trino_target / "manifest.json").read_text())
    others = {
        node["name"]: (node["config"]["materialized"], node["config"]["on_table_exists"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "partitioned" not in node["tags"]
    }
    assert set(others) == {"dim_customers", "dim_products", "customer_lifetime_value"}
    assert set(others.values()) == {("table", "replace")}  # keeps the Iceberg history


def test_the_partitioned_models_tests_check_the_window_only(trino_target: Path) -> None:
    tests = [path for path in compiled_sql(trino_target) if path.parent.name.endswith(".yml")]
    unique_day = next(path for path in tests if path.name.startswith("unique_daily_revenue"))
    assert "revenue_date >= date '2024-01-02' and revenue_date < date '2024-01-03'" in (
        unique_day.read_text()
    )
    unique_purchase = next(path for path in tests if path.name.startswith("unique_fct_purchases"))
    assert "from_iso8601_timestamp('2024-01-03T00:00:00+00:00')" in unique_purchase.read_text()


def test_trino_profile_targets_the_iceberg_catalog_schema_analytics(trino_target: Path) -> None:
    manifest = json.loads((trino_target / "manifest.json").read_text())
    node = manifest["nodes"]["model.lakehouse_analytics.daily_revenue"]
    assert (manifest["metadata"]["adapter_type"], node["database"], node["schema"]) == (
        "trino",
        "iceberg",
        "analytics",
    )
    source = manifest["sources"]["source.lakehouse_analytics.staging.purchases"]
    assert (source["database"], source["schema"]) == ("iceberg", "staging")
