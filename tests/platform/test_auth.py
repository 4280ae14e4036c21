"""Keycloak, the realm file and the services that trust it: who gets which token, who refuses
what, and how an expired or refused token is replaced without the caller noticing."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from lakehouse.catalog import build_catalog
from lakehouse.loopback.engines import trino_client_auth, trino_connection, trino_session
from lakehouse.loopback.environment import public_settings
from lakehouse.loopback.layout import REALM, Layout
from tests.platform.conftest import settings_of, token

SEED_GROUPS = {"data-engineer", "data-analyst", "data-scientist", "platform-admin"}


def claims(access_token: str) -> dict:
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def audiences(access_token: str) -> set[str]:
    aud = claims(access_token).get("aud", [])
    return {aud} if isinstance(aud, str) else set(aud)


@pytest.fixture(scope="module")
def admin(platform: Layout, platform_secrets: dict[str, str]) -> requests.Session:
    """The realm's admin API as Keycloak's bootstrap admin (master realm)."""
    response = requests.post(
        f"{platform.url('keycloak')}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": platform_secrets["keycloak_admin"],
        },
        timeout=30,
    )
    response.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


@pytest.fixture
def short_lived_client(platform: Layout, admin: requests.Session) -> Iterator[tuple[str, str]]:
    """A service-account client like lakehouse-pipelines whose tokens live 3 seconds."""
    client_id, secret = f"test-short-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    clients = f"{platform.url('keycloak')}/admin/realms/{REALM}/clients"
    response = admin.post(
        clients,
        json={
            "clientId": client_id,
            "secret": secret,
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
            "publicClient": False,
            "attributes": {"access.token.lifespan": "3"},
            "defaultClientScopes": ["basic", "profile", "roles", "lakekeeper", "trino"],
        },
        timeout=30,
    )
    response.raise_for_status()
    yield client_id, secret
    (created,) = admin.get(clients, params={"clientId": client_id}, timeout=30).json()
    admin.delete(f"{clients}/{created['id']}", timeout=30).raise_for_status()


@pytest.mark.parametrize(
    ("client", "secret", "expected"),
    [
        ("lakehouse-pipelines", "client_lakehouse_pipelines", {"lakekeeper", "trino"}),
        ("lakehouse-dbt", "client_lakehouse_dbt", {"trino"}),
        ("lakehouse-upkeep", "client_lakehouse_upkeep", {"trino"}),
    ],
)
def test_the_realm_file_gives_each_service_account_its_audiences_and_role(
    platform, platform_secrets, client, secret, expected
):
    issued = token(platform, client, platform_secrets[secret])["access_token"]
    decoded = claims(issued)

    assert decoded["iss"] == platform.issuer
    assert audiences(issued) == expected  # dbt and the upkeep cannot call the catalog
    assert decoded["preferred_username"] == f"service-account-{client}"
    assert decoded["realm_access"]["roles"] == ["lakehouse-service"]


def test_the_realm_file_maps_the_seed_groups_to_their_roles(platform, admin):
    base = f"{platform.url('keycloak')}/admin/realms/{REALM}"
    groups = {group["name"]: group for group in admin.get(f"{base}/groups", timeout=30).json()}
    assert set(groups) == SEED_GROUPS
    for name, group in groups.items():
        mapped = admin.get(f"{base}/groups/{group['id']}/role-mappings/realm", timeout=30).json()
        assert [role["name"] for role in mapped] == [name]


def test_client_secrets_come_from_the_environment_not_the_realm_file(platform, platform_secrets):
    realm_file = (platform.service_dir("keycloak") / "dist" / "data" / "import").glob("*.json")
    text = "".join(path.read_text() for path in realm_file)
    assert "${CLIENT_SECRET_LAKEHOUSE_PIPELINES}" in text
    assert not any(value in text for value in platform_secrets.values())
    with pytest.raises(requests.HTTPError, match="401"):
        token(platform, "lakehouse-pipelines", "${CLIENT_SECRET_LAKEHOUSE_PIPELINES}")


def _catalog_config(platform: Layout, bearer: str | None) -> int:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    url = f"{public_settings(platform)['LAKEHOUSE_CATALOG_URI']}/v1/config"
    return requests.get(url, headers=headers, timeout=30).status_code


def _foreign_token(platform: Layout, issuer: str, audience: str) -> str:
    """A well-formed RS256 token with the realm's claims, signed by a key the realm never had."""
    key = RSAKey.generate_key(2048, parameters={"kid": "not-the-realm"})
    now = int(time.time())
    payload = {"iss": issuer, "aud": audience, "sub": "intruder", "iat": now, "exp": now + 300}
    payload["preferred_username"] = "service-account-lakehouse-pipelines"
    return jwt.encode({"alg": "RS256", "kid": "not-the-realm"}, payload, key)


def test_the_catalog_refuses_requests_without_a_token_or_from_another_issuer(
    platform, platform_secrets, admin
):
    pipelines = token(
        platform, "lakehouse-pipelines", platform_secrets["client_lakehouse_pipelines"]
    )
    master = admin.headers["Authorization"].removeprefix("Bearer ")
    dbt = token(platform, "lakehouse-dbt", platform_secrets["client_lakehouse_dbt"])

    assert _catalog_config(platform, pipelines["access_token"]) == 200
    assert _catalog_config(platform, None) == 401
    assert _catalog_config(platform, master) == 401  # Keycloak's master realm: another issuer
    assert (
        _catalog_config(platform, _foreign_token(platform, "https://elsewhere", "lakekeeper"))
        == 401
    )
    assert _catalog_config(platform, _foreign_token(platform, platform.issuer, "lakekeeper")) == 401
    assert _catalog_config(platform, dbt["access_token"]) == 401  # the realm's, not for the catalog


def _trino_info(platform: Layout, bearer: str | None) -> int:
    headers = {"X-Trino-User": "x", **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    response = trino_session(platform).post(
        f"https://127.0.0.1:{platform.ports['trino']}/v1/statement",
        data="SELECT 1",
        headers=headers,
        timeout=30,
    )
    return response.status_code


def test_trino_refuses_requests_without_a_token_or_from_another_issuer(
    platform, platform_secrets, admin
):
    dbt = token(platform, "lakehouse-dbt", platform_secrets["client_lakehouse_dbt"])

    assert _trino_info(platform, dbt["access_token"]) == 200
    assert _trino_info(platform, None) == 401
    assert _trino_info(platform, admin.headers["Authorization"].removeprefix("Bearer ")) == 401
    assert _trino_info(platform, _foreign_token(platform, platform.issuer, "trino")) == 401


def test_trino_serves_clients_over_https_only(platform):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(
            f"https://127.0.0.1:{platform.ports['trino']}/v1/info", verify=True, timeout=10
        )
    http = requests.post(
        f"http://127.0.0.1:{platform.ports['trino_internal']}/v1/statement",
        data="SELECT 1",
        headers={"X-Trino-User": "x"},
        timeout=10,
    )
    assert http.status_code in {401, 403}  # the internal port takes only signed node requests


def test_an_expired_catalog_token_is_replaced_on_the_next_call(platform, short_lived_client):
    client_id, secret = short_lived_client
    settings = settings_of(
        platform,
        "rest",
        LAKEHOUSE_CATALOG_CLIENT_ID=client_id,
        LAKEHOUSE_CATALOG_CLIENT_SECRET=secret,
    )
    catalog = build_catalog(settings)
    first = catalog._session.auth.auth_manager._token  # pyiceberg's current bearer token
    time.sleep(4)  # past the 3-second lifespan: the catalog now refuses the token (401)

    assert ("raw",) in catalog.list_namespaces()
    assert catalog._session.auth.auth_manager._token != first


def test_a_refused_catalog_token_is_replaced_on_the_next_call(platform):
    """As after a revocation (a rotated realm key): the catalog answers 401, pyiceberg fetches
    a new token with its client credentials and repeats the call."""
    catalog = build_catalog(settings_of(platform, "rest"))
    manager = catalog._session.auth.auth_manager
    manager._token = _foreign_token(platform, platform.issuer, "lakekeeper")

    assert ("raw",) in catalog.list_namespaces()
    assert claims(manager._token)["iss"] == platform.issuer
    assert claims(manager._token)["azp"] == "lakehouse-pipelines"


def test_an_expired_trino_token_is_refused_and_the_client_fetches_a_new_one(
    platform, short_lived_client
):
    client_id, secret = short_lived_client
    stale = token(platform, client_id, secret)["access_token"]
    time.sleep(4)
    assert _trino_info(platform, stale) == 401  # Trino checks expiry itself

    auth = trino_client_auth(platform, client_id, secret)
    with trino_connection(platform, client_id, auth) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        first_token = auth._bearer._token
        time.sleep(4)
        cursor.execute("SELECT 2")
        assert cursor.fetchall() == [[2]]
    assert auth._bearer._token != first_token


def test_a_refused_trino_token_is_replaced_and_the_query_sent_again(platform, platform_secrets):
    """As after a revocation (a rotated realm key): Trino answers 401 to a token that has not
    expired; the client forgets it, fetches one new token and resends the request once."""
    auth = trino_client_auth(platform, "lakehouse-dbt", platform_secrets["client_lakehouse_dbt"])
    with trino_connection(platform, "lakehouse-dbt", auth) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        assert cursor.fetchall() == [[1]] and auth.tokens_fetched == 1
        refused = _foreign_token(platform, platform.issuer, "trino")
        assert _trino_info(platform, refused) == 401
        auth._bearer._token = refused  # still "valid" by its lifetime: only Trino refuses it

        cursor.execute("SELECT 2")

        assert cursor.fetchall() == [[2]]
    assert auth.tokens_fetched == 2
    assert claims(auth._bearer._token)["azp"] == "lakehouse-dbt"
