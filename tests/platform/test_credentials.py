"""A wrong credential for each platform service ends in one line naming the setting to fix,
and the right one works (so the line is about the credential, not a dead service)."""

from __future__ import annotations

import pytest

from lakehouse.catalog import CatalogUnavailableError, build_catalog
from lakehouse.loopback.layout import Layout
from lakehouse.loopback.secrets import write_private
from lakehouse.platform_access import PlatformAccessError, check_storage, check_trino
from tests.platform.conftest import settings_of


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_wrong_catalog_client_secret_names_the_client_settings(platform):
    settings = settings_of(platform, "rest", LAKEHOUSE_CATALOG_CLIENT_SECRET="not-the-secret")
    with pytest.raises(CatalogUnavailableError) as error:
        build_catalog(settings)
    message = _one_line(error)
    assert "LAKEHOUSE_CATALOG_CLIENT_SECRET" in message
    assert "not-the-secret" not in message


def test_a_wrong_postgresql_password_names_the_catalog_uri_and_passfile(
    platform: Layout, tmp_path, monkeypatch
):
    passfile = tmp_path / "pgpass"
    write_private(passfile, "127.0.0.1:5432:loopback_iceberg:loopback_iceberg:wrong-password\n")
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    with pytest.raises(CatalogUnavailableError) as error:
        build_catalog(settings_of(platform, "sql"))
    message = _one_line(error)
    assert "password authentication failed" in message
    assert "LAKEHOUSE_CATALOG_URI" in message
    assert "PGPASSFILE" in message


def test_postgresql_refuses_the_platform_roles_without_their_password(
    platform, tmp_path, monkeypatch
):
    """scripts/postgres.sh trusts loopback for the tests; the platform's roles still need theirs."""
    import psycopg2

    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(psycopg2.OperationalError, match="password"):
        psycopg2.connect("host=127.0.0.1 port=5432 user=loopback_dagster dbname=loopback_dagster")


@pytest.mark.parametrize(
    "override",
    [
        {"LAKEHOUSE_S3_SECRET_ACCESS_KEY": "not-the-secret"},
        {"LAKEHOUSE_S3_ACCESS_KEY_ID": "AKIANOTAKEY000000000"},
    ],
)
def test_wrong_s3_keys_name_the_key_settings(platform, override):
    assert "readable" in check_storage(settings_of(platform, "rest"), "iceberg-warehouse")
    with pytest.raises(PlatformAccessError) as error:
        check_storage(settings_of(platform, "rest", **override), "iceberg-warehouse")
    message = _one_line(error)
    assert "LAKEHOUSE_S3_ACCESS_KEY_ID and LAKEHOUSE_S3_SECRET_ACCESS_KEY" in message
    assert "not-the-secret" not in message


def test_the_service_keys_reach_only_the_buckets_of_their_policy(platform):
    """The platform's MinIO policy lakehouse-service, enforced: no access to the log buckets."""
    with pytest.raises(PlatformAccessError, match="refused the keys for bucket airbyte-logs"):
        check_storage(settings_of(platform, "rest"), "airbyte-logs")


def test_a_wrong_trino_client_secret_names_the_trino_settings(platform):
    assert "answers as service-account-lakehouse-dbt" in check_trino(settings_of(platform, "rest"))
    settings = settings_of(platform, "rest", LAKEHOUSE_TRINO_CLIENT_SECRET="not-the-secret")
    with pytest.raises(PlatformAccessError) as error:
        check_trino(settings)
    message = _one_line(error)
    assert "LAKEHOUSE_TRINO_CLIENT_SECRET" in message
    assert "not-the-secret" not in message


def test_trino_with_an_untrusted_ca_names_the_ca_bundle_setting(platform, tmp_path):
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_text((platform.tls_dir / "trino.crt").read_text())  # not the CA
    settings = settings_of(platform, "rest", LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE=str(other_ca))
    with pytest.raises(PlatformAccessError) as error:
        check_trino(settings)
    assert "LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE" in _one_line(error)
