"""Settings: zero-config embedded default, platform variants, and errors that name the variable."""

from __future__ import annotations

import pytest

from lakehouse.catalog import catalog_properties, describe_catalog
from lakehouse.settings import SettingsError, load_settings

PLATFORM_REST = {
    "LAKEHOUSE_RUNTIME": "platform",
    "LAKEHOUSE_CATALOG_TYPE": "rest",
    "LAKEHOUSE_CATALOG_URI": "https://catalog.example/catalog",
    "LAKEHOUSE_WAREHOUSE": "lakehouse",
    "LAKEHOUSE_CATALOG_OAUTH2_SERVER_URI": "https://sso.example/realms/data/protocol/openid-connect/token",
    "LAKEHOUSE_CATALOG_CLIENT_ID": "dagster",
    "LAKEHOUSE_CATALOG_CLIENT_SECRET": "fake-client-secret-123",
    "LAKEHOUSE_S3_ENDPOINT": "http://minio:9000",
    "LAKEHOUSE_S3_ACCESS_KEY_ID": "fake-access-key",
    "LAKEHOUSE_S3_SECRET_ACCESS_KEY": "fake-secret-key",
    "LAKEHOUSE_AIRBYTE_API_URL": "http://airbyte:8001",
    "LAKEHOUSE_AIRBYTE_WORKSPACE_ID": "ws-1",
}


def test_no_variables_give_the_embedded_sqlite_catalog(tmp_path):
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    assert settings.runtime == "embedded"
    props = catalog_properties(settings)
    assert props["type"] == "sql"
    assert props["uri"] == f"sqlite:///{tmp_path}/catalog.db"
    assert props["warehouse"] == (tmp_path / "warehouse").as_uri()


def test_default_home_is_dot_lakehouse_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).home_dir == tmp_path / ".lakehouse"


def test_platform_rest_catalog_uses_keycloak_client_credentials_and_path_style_s3():
    props = catalog_properties(load_settings(PLATFORM_REST))
    assert props["type"] == "rest"
    assert props["credential"] == "dagster:fake-client-secret-123"
    assert props["oauth2-server-uri"].endswith("/token")
    assert props["s3.endpoint"] == "http://minio:9000"
    assert props["s3.force-virtual-addressing"] == "false"
    assert props["s3.secret-access-key"] == "fake-secret-key"


def test_platform_sql_catalog_on_postgresql_is_accepted():
    env = {k: v for k, v in PLATFORM_REST.items() if "CATALOG_" not in k}
    env["LAKEHOUSE_CATALOG_URI"] = "postgresql+psycopg2://dagster:pw@pg:5432/iceberg"
    env["LAKEHOUSE_WAREHOUSE"] = "s3://iceberg-raw/warehouse"
    settings = load_settings(env)
    assert catalog_properties(settings)["uri"].startswith("postgresql+psycopg2://")
    assert "pw" not in describe_catalog(settings)


def test_settings_repr_never_shows_secrets():
    settings = load_settings(PLATFORM_REST)
    text = repr(settings) + str(settings.model_dump())
    for secret in settings.secret_values():
        assert secret not in text


@pytest.mark.parametrize(
    ("env", "named", "expects"),
    [
        ({"LAKEHOUSE_CATALOG_TYPE": "hive"}, "LAKEHOUSE_CATALOG_TYPE", "'sql' or 'rest'"),
        ({"LAKEHOUSE_FAKER_COUNT": "many"}, "LAKEHOUSE_FAKER_COUNT", "integer"),
        ({"LAKEHOUSE_FAKER_COUNT": "0"}, "LAKEHOUSE_FAKER_COUNT", "greater than or equal to 1"),
        ({"LAKEHOUSE_CATALOG_TYPE": "rest"}, "LAKEHOUSE_CATALOG_URI", "http(s) URL"),
        ({"LAKEHOUSE_CATALOG_URI": "mysql://x"}, "LAKEHOUSE_CATALOG_URI", "postgresql"),
        ({"LAKEHOUSE_WAREHOUSE": "s3://b/w"}, "LAKEHOUSE_S3_ENDPOINT", "endpoint"),
        ({"LAKEHOUSE_RUNTIME": "platform"}, "LAKEHOUSE_AIRBYTE_API_URL", "required"),
        ({"LAKEHOUSE_RUNTIME": "cloud"}, "LAKEHOUSE_RUNTIME", "'embedded' or 'platform'"),
        ({"LAKEHOUSE_CATALOG_URL": "x"}, "LAKEHOUSE_CATALOG_URL", "unknown"),
    ],
)
def test_a_wrong_setting_fails_with_the_variable_named(env, named, expects):
    with pytest.raises(SettingsError) as error:
        load_settings(env)
    assert named in str(error.value)
    assert expects in str(error.value)


def test_every_resource_is_built_from_the_settings_it_is_given(tmp_path, monkeypatch):
    """One channel: resources take the typed settings from the edge, never re-read the process
    environment (the catalog resource once ignored an override)."""
    from lakehouse.resources import build_resources

    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "process"))
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path / "given")})
    resources = build_resources(settings)
    catalogs = {
        "catalog": resources["catalog"].get_catalog(),
        "io_manager": resources["io_manager"].get_catalog(),
        "upkeep": resources["upkeep"].catalog(),
        "spark_io_manager": resources["spark_io_manager"].get_catalog(),
    }
    for name, catalog in catalogs.items():
        assert str(tmp_path / "given") in catalog.properties["uri"], name
    assert resources["spark"].settings is settings
    assert resources["dbt"].settings.environment()["LAKEHOUSE_HOME"] == str(tmp_path / "given")


def test_the_environment_a_subprocess_gets_gives_the_same_settings_back(tmp_path):
    """dbt runs in its own process and reads the settings back from its environment."""
    given = {
        "LAKEHOUSE_HOME": str(tmp_path),
        "LAKEHOUSE_CATALOG_TYPE": "rest",
        "LAKEHOUSE_CATALOG_URI": "https://catalog.example/api",
        "LAKEHOUSE_CATALOG_CLIENT_ID": "lakehouse",
        "LAKEHOUSE_CATALOG_CLIENT_SECRET": "s3cret",  # pragma: allowlist secret
        "LAKEHOUSE_FAKER_NOW": "2024-02-29T23:30:00+00:00",
        "LAKEHOUSE_UPKEEP_TRINO_VERIFY": "false",
        "LAKEHOUSE_COMMIT_TIMEOUT_SECONDS": "7.5",
    }
    settings = load_settings(given)
    assert settings.environment() == given
    assert load_settings(settings.environment()) == settings


def test_paths_derived_from_the_home_are_properties_of_the_settings(tmp_path):
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    assert settings.metrics_path == tmp_path / "metrics"
    assert settings.backup_root == (tmp_path / "backups").as_uri()
    assert settings.erasure_inbox == (tmp_path / "erasure-requests").as_uri()
    chosen = load_settings(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_UPKEEP_METRICS_DIR": str(tmp_path / "textfiles"),
            "LAKEHOUSE_BACKUP_LOCATION": "s3://backups/lakehouse",
            "LAKEHOUSE_UPKEEP_ERASURE_INBOX": "s3://backups/erasure",
            "LAKEHOUSE_S3_ENDPOINT": "http://minio:9000",
        }
    )
    assert chosen.metrics_path == tmp_path / "textfiles"
    assert (chosen.backup_root, chosen.erasure_inbox) == (
        "s3://backups/lakehouse",
        "s3://backups/erasure",
    )


def test_reading_the_settings_loads_no_dagster():
    """Scripts and engines read the settings without the orchestrator's import cost."""
    import subprocess
    import sys

    code = (
        "import sys, lakehouse.settings, lakehouse.engine_conf; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
