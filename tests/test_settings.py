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


def test_every_resource_honours_the_environment_override(tmp_path, monkeypatch):
    """Tests and scripts point the resources at another home: each must use it, not the
    process settings (the catalog resource once ignored it)."""
    from lakehouse.resources import build_resources
    from lakehouse.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "process"))
    get_settings.cache_clear()
    environment = {"LAKEHOUSE_HOME": str(tmp_path / "override")}
    try:
        resources = build_resources(get_settings(), environment)
        catalogs = {
            "catalog": resources["catalog"].get_catalog(),
            "io_manager": resources["io_manager"].get_catalog(),
            "upkeep": resources["upkeep"].catalog(),
        }
    finally:
        get_settings.cache_clear()
    for name, catalog in catalogs.items():
        assert str(tmp_path / "override") in catalog.properties["uri"], name
