"""`lakehouse-dbt`: dbt-trino's JWT credentials get a client-credentials token, never a static one.

The end-to-end check (a dbt build on the loopback Trino outliving its token) is in
tests/platform/test_graph_on_the_platform.py.
"""

from __future__ import annotations

import pytest
from dbt.adapters.trino.connections import TrinoJwtCredentials

from lakehouse.analytics.dbt_entry import install_token_authentication
from lakehouse.analytics.resources import build_dbt_resource
from lakehouse.settings import load_settings
from lakehouse.trino_auth import ClientCredentialsAuthentication, TokenError

CLIENT = {
    "LAKEHOUSE_DBT_TARGET": "trino",
    "LAKEHOUSE_TRINO_TOKEN_URI": "https://keycloak.example/realms/r/protocol/openid-connect/token",
    "LAKEHOUSE_TRINO_CLIENT_ID": "lakehouse-dbt",
    "LAKEHOUSE_TRINO_CLIENT_SECRET": "dbt-client-s3cret",  # pragma: allowlist secret
    "LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE": "/etc/platform-ca.pem",
}


@pytest.fixture
def credentials(monkeypatch) -> TrinoJwtCredentials:
    """dbt-trino's credentials as the profile gives them (no token); the patch undone after."""
    monkeypatch.setattr(TrinoJwtCredentials, "trino_auth", TrinoJwtCredentials.trino_auth)
    return TrinoJwtCredentials(
        host="trino", port=8443, jwt_token="", database="iceberg", schema="analytics"
    )


def test_dbt_trino_authenticates_with_the_settings_client_credentials(credentials):
    install_token_authentication(load_settings(CLIENT))

    auth = credentials.trino_auth()

    assert isinstance(auth, ClientCredentialsAuthentication)
    assert auth.credentials.client_id == "lakehouse-dbt"
    assert auth.credentials.token_uri == CLIENT["LAKEHOUSE_TRINO_TOKEN_URI"]
    assert auth.credentials.verify == "/etc/platform-ca.pem"
    # One authentication (one token) for all of dbt's threads and connections.
    assert credentials.trino_auth() is auth
    assert auth.tokens_fetched == 0  # fetched when the first request goes out, not before


def test_without_a_client_the_first_connection_names_the_settings(credentials):
    install_token_authentication(load_settings({"LAKEHOUSE_DBT_TARGET": "trino"}))

    with pytest.raises(TokenError, match="LAKEHOUSE_TRINO_CLIENT_ID"):
        credentials.trino_auth()


def test_the_analytics_resource_runs_lakehouse_dbt(tmp_path):
    resource = build_dbt_resource(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))
    assert resource.dbt_executable.endswith("/lakehouse-dbt")
