"""Loading the analytics assets reads the prepared manifest and never parses dbt."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_dbt import DbtCliResource
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

from lakehouse.analytics import prepare as prepare_module
from lakehouse.analytics.assets import build_analytics_assets
from lakehouse.analytics.prepare import DBT_PROJECT_DIR, fingerprint, is_fresh
from lakehouse.analytics.project import ManifestError, analytics_project, load_manifest
from lakehouse.settings import Settings, load_settings

MODELS = [
    "customer_lifetime_value",
    "daily_revenue",
    "dim_customers",
    "dim_products",
    "fct_purchases",
]


@pytest.fixture
def no_dbt_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any way of running dbt fails the test: a subprocess, dagster-dbt's CLI or its preparer."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"dbt was run at load: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(DbtCliResource, "cli", refuse)
    monkeypatch.setattr(DagsterDbtProjectPreparer, "prepare", refuse)
    monkeypatch.setattr(prepare_module, "_parse", refuse)


def test_building_the_assets_reads_the_manifest_without_parsing(
    duckdb_manifest: Path, no_dbt_parse: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "")  # not under `dagster dev`
    modified = duckdb_manifest.stat().st_mtime_ns
    assets = build_analytics_assets(load_settings({}))
    keys = {key.to_user_string() for spec in assets for key in spec.keys}
    assert keys == {f"analytics/{model}" for model in MODELS}
    assert duckdb_manifest.stat().st_mtime_ns == modified


def test_definitions_load_with_the_analytics_assets(duckdb_manifest: Path, tmp_path: Path) -> None:
    from lakehouse.definitions import build_definitions

    defs = build_definitions({"LAKEHOUSE_HOME": str(tmp_path)})
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey(["analytics", "daily_revenue"]) in graph.get_all_asset_keys()
    assert "dbt" in defs.resources


def test_a_missing_manifest_names_the_command_that_builds_it(tmp_path: Path) -> None:
    shutil.copytree(DBT_PROJECT_DIR, tmp_path / "dbt", ignore=shutil.ignore_patterns("target"))
    project = analytics_project("duckdb", tmp_path / "dbt")
    with pytest.raises(
        ManifestError, match=r"python -m lakehouse\.analytics\.prepare --target duckdb"
    ):
        load_manifest(project)


def test_a_manifest_of_the_other_target_is_refused(tmp_path: Path, duckdb_manifest: Path) -> None:
    shutil.copytree(DBT_PROJECT_DIR, tmp_path / "dbt", ignore=shutil.ignore_patterns("target"))
    (tmp_path / "dbt" / "target" / "trino").mkdir(parents=True)
    shutil.copy(duckdb_manifest, tmp_path / "dbt" / "target" / "trino" / "manifest.json")
    with pytest.raises(ManifestError, match=r"built for target 'duckdb'.*'trino'"):
        load_manifest(analytics_project("trino", tmp_path / "dbt"))


def test_prepare_is_a_no_op_until_a_dbt_file_changes(duckdb_manifest: Path, tmp_path: Path) -> None:
    assert is_fresh("duckdb")
    shutil.copytree(DBT_PROJECT_DIR, tmp_path / "dbt", ignore=shutil.ignore_patterns("target"))
    before = fingerprint(tmp_path / "dbt", "duckdb")
    (tmp_path / "dbt" / "target" / "duckdb").mkdir(parents=True)
    (tmp_path / "dbt" / "target" / "duckdb" / "manifest.json").write_text("{}")  # ignored
    assert not is_fresh("duckdb", tmp_path / "dbt")
    assert fingerprint(tmp_path / "dbt", "duckdb") == before
    model = tmp_path / "dbt" / "models" / "metrics" / "daily_revenue.sql"
    model.write_text(model.read_text() + "\n")
    assert fingerprint(tmp_path / "dbt", "duckdb") != before


def test_settings_pick_the_dbt_target_from_the_runtime() -> None:
    assert load_settings({}).analytics_target == "duckdb"
    assert load_settings({"LAKEHOUSE_DBT_TARGET": "trino"}).analytics_target == "trino"
    platform = Settings.model_construct(runtime="platform", dbt_target=None)
    assert platform.analytics_target == "trino"


def test_profile_defaults_are_the_settings_defaults() -> None:
    """profiles.yml reads LAKEHOUSE_TRINO_*; with no environment both sides agree."""
    text = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    defaults = dict(re.findall(r"env_var\('LAKEHOUSE_(TRINO_[A-Z_]+)', '([^']*)'\)", text))
    settings = load_settings({})
    assert defaults == {
        "TRINO_HOST": settings.trino_host,
        "TRINO_PORT": str(settings.trino_port),
        "TRINO_USER": settings.trino_user,
        "TRINO_CATALOG": settings.trino_catalog,
    }
    trino = yaml.safe_load(text)["lakehouse"]["outputs"]["trino"]
    assert (trino["method"], trino["schema"]) == ("jwt", "analytics")
    duckdb = yaml.safe_load(text)["lakehouse"]["outputs"]["duckdb"]["settings"]
    limit = f"{{{{ env_var('LAKEHOUSE_DUCKDB_MEMORY_LIMIT', '{settings.duckdb_memory_limit}') }}}}"
    assert duckdb["memory_limit"] == limit


def test_the_trino_profile_holds_no_token() -> None:
    """Tokens are fetched at run time (lakehouse/analytics/dbt_entry.py): a static one expires
    in minutes, so the profile reads none from the environment and holds none itself."""
    trino = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["lakehouse"]["outputs"]
    assert trino["trino"]["jwt_token"] == ""
    assert "TOKEN" not in json.dumps(trino["trino"])


def test_every_model_and_column_is_documented_owned_and_classified(duckdb_manifest: Path) -> None:
    manifest = json.loads(duckdb_manifest.read_text())
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert sorted(model["name"] for model in models) == MODELS
    for model in models:
        assert model["description"], model["name"]
        assert model["meta"]["owner"].startswith("team:"), model["name"]
        assert model["meta"]["classification"] in (
            "public",
            "internal",
            "confidential",
            "restricted",
        )
        assert model["tags"], model["name"]
        compiled_columns = set(model["columns"])
        assert compiled_columns, model["name"]
        for name, column in model["columns"].items():
            assert column["description"], f"{model['name']}.{name}"
            assert column["meta"]["classification"], f"{model['name']}.{name}"
