"""Non-interactive OAuth2 to Trino: a Keycloak service account's token, sent as a bearer JWT.

trino's ``OAuth2Authentication`` runs the authorization-code flow (it opens a browser), so a
Kubernetes Job cannot use it; a static ``JWTAuthentication`` token expires after Keycloak's
access-token lifespan (minutes) while the client still polls a long ``optimize``. This
authentication asks the token endpoint for a client-credentials token and renews it shortly
before it expires, on every request the trino client sends, and again when Trino refuses it
(a revoked token, a rotated realm key).

``connect`` opens the lakehouse's own Trino connection from settings (dbt's client: ``lakehouse
sql``, ``lakehouse doctor``); dbt itself gets the same authentication through
``lakehouse.analytics.dbt_entry``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
import trino.auth

from lakehouse.settings import PREFIX, Settings

if TYPE_CHECKING:
    import trino.dbapi

# Renew this long before the token expires: a request must not reach Trino with a dead token.
RENEW_MARGIN_SECONDS = 30.0


class TokenError(RuntimeError):
    """The token endpoint refused the client or answered something that is not a token."""


@dataclass(frozen=True)
class ClientCredentials:
    token_uri: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    verify: bool | str = True  # requests' verify: a bool or a CA bundle path
    timeout_seconds: float = 30.0


def fetch_token(credentials: ClientCredentials) -> tuple[str, float]:
    """(access token, seconds it lives) from the client-credentials grant (RFC 6749 4.4)."""
    data = {"grant_type": "client_credentials"}
    if credentials.scope:
        data["scope"] = credentials.scope
    response = requests.post(
        credentials.token_uri,
        data=data,
        auth=(credentials.client_id, credentials.client_secret),  # client_secret_basic
        timeout=credentials.timeout_seconds,
        verify=credentials.verify,
    )
    if response.status_code != 200:
        # Keycloak's error body names the error code only; it never echoes the secret.
        raise TokenError(
            f"token endpoint {credentials.token_uri} answered {response.status_code} "
            f"for client {credentials.client_id}: {response.text[:200]}"
        )
    payload: dict[str, Any] = response.json()
    token = payload.get("access_token")
    if not token or str(payload.get("token_type", "bearer")).lower() != "bearer":
        raise TokenError(f"token endpoint {credentials.token_uri} returned no bearer token")
    return token, float(payload.get("expires_in", 60))


class _RenewingBearer(requests.auth.AuthBase):
    """Sets ``Authorization: Bearer``; one token shared by threads until it nears expiry, or
    until Trino refuses it: then one new token and one resend, as requests' digest auth does."""

    def __init__(self, credentials: ClientCredentials) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetched = 0  # tokens fetched so far (logs, tests)

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                token, lifetime = fetch_token(self._credentials)
                self._token = token
                self._renew_at = time.monotonic() + max(lifetime - RENEW_MARGIN_SECONDS, 0.0)
                self.fetched += 1
            return self._token

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:  # another thread may have renewed it already
                self._token = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._resend_refused)
        return request

    def _resend_refused(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """A 401 to a request sent with a token: renew it and send the request once more."""
        sent = response.request
        if response.status_code != 401 or sent.headers.get(_RESENT_HEADER):
            return response
        self._forget(str(sent.headers.get("Authorization", "")).removeprefix("Bearer "))
        response.content  # noqa: B018 - read the body so the connection can be reused
        response.close()
        again = sent.copy()
        again.headers["Authorization"] = f"Bearer {self.token()}"
        again.headers[_RESENT_HEADER] = "1"
        retried: requests.Response = response.connection.send(again, **kwargs)
        retried.history.append(response)
        retried.request = again
        return retried


# Marks the one resend of a refused request (Trino ignores unknown headers).
_RESENT_HEADER = "X-Lakehouse-Token-Renewed"


class ClientCredentialsAuthentication(trino.auth.Authentication):
    """trino client authentication by Keycloak client credentials (see the module docstring)."""

    def __init__(self, credentials: ClientCredentials) -> None:
        self.credentials = credentials
        self._bearer = _RenewingBearer(credentials)

    @property
    def tokens_fetched(self) -> int:
        return self._bearer.fetched

    def set_http_session(self, http_session: requests.Session) -> requests.Session:
        http_session.auth = self._bearer
        if http_session.verify is not True:
            # requests lets REQUESTS_CA_BUNDLE (set on the project's machines) override a
            # session's own CA bundle (psf/requests#3829): a chosen bundle must win.
            http_session.trust_env = False
        return http_session

    def get_exceptions(self) -> tuple[Any, ...]:
        return (TokenError,)


def tls_verify(settings: Settings) -> bool | str:
    """requests' ``verify`` for Trino and its token endpoint: the CA bundle when one is set,
    else the on/off switch (``LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE``, ``..._VERIFY``)."""
    if settings.upkeep_trino_ca_bundle and settings.upkeep_trino_verify:
        return str(settings.upkeep_trino_ca_bundle)
    return settings.upkeep_trino_verify


def https_session(verify: bool | str) -> requests.Session:
    """A requests session verifying TLS with ``verify``, which the environment cannot override."""
    session = requests.Session()
    session.verify = verify
    session.trust_env = verify is True  # see ClientCredentialsAuthentication.set_http_session
    return session


def lakehouse_authentication(settings: Settings) -> ClientCredentialsAuthentication:
    """The lakehouse's own Trino client (``LAKEHOUSE_TRINO_CLIENT_*``: dbt's service account)."""
    if not (settings.trino_client_id and settings.trino_client_secret and settings.trino_token_uri):
        raise TokenError(
            f"{PREFIX}TRINO_CLIENT_ID, {PREFIX}TRINO_CLIENT_SECRET and {PREFIX}TRINO_TOKEN_URI: "
            "not set, Trino accepts no request without a token"
        )
    return ClientCredentialsAuthentication(
        ClientCredentials(
            token_uri=settings.trino_token_uri,
            client_id=settings.trino_client_id,
            client_secret=settings.trino_client_secret.get_secret_value(),
            verify=tls_verify(settings),
        )
    )


def connect(settings: Settings, *, schema: str | None = None) -> trino.dbapi.Connection:
    """A connection to the lakehouse's Trino catalog as dbt's service account, over HTTPS."""
    import trino.dbapi

    return trino.dbapi.connect(
        host=settings.trino_host,
        port=settings.trino_port,
        http_scheme="https",
        user=settings.trino_user,
        catalog=settings.trino_catalog,
        schema=schema,
        auth=lakehouse_authentication(settings),
        http_session=https_session(tls_verify(settings)),
    )
