"""Non-interactive OAuth2 to Trino: a Keycloak service account's token, sent as a bearer JWT.

trino's ``OAuth2Authentication`` runs the authorization-code flow (it opens a browser), so a
Kubernetes Job cannot use it; a static ``JWTAuthentication`` token expires after Keycloak's
access-token lifespan (minutes) while the client still polls a long ``optimize``. This
authentication asks the token endpoint for a client-credentials token and renews it shortly
before it expires, on every request the trino client sends.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import trino.auth

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
    """Sets ``Authorization: Bearer``; one token shared by threads until it nears expiry."""

    def __init__(self, credentials: ClientCredentials) -> None:
        self._credentials = credentials
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                token, lifetime = fetch_token(self._credentials)
                self._token = token
                self._renew_at = time.monotonic() + max(lifetime - RENEW_MARGIN_SECONDS, 0.0)
            return self._token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


class ClientCredentialsAuthentication(trino.auth.Authentication):
    """trino client authentication by Keycloak client credentials (see the module docstring)."""

    def __init__(self, credentials: ClientCredentials) -> None:
        self.credentials = credentials
        self._bearer = _RenewingBearer(credentials)

    def set_http_session(self, http_session: requests.Session) -> requests.Session:
        http_session.auth = self._bearer
        return http_session

    def get_exceptions(self) -> tuple[Any, ...]:
        return (TokenError,)
