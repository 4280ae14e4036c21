"""``lakehouse-dbt``: dbt's own command line, with Trino's access token fetched and renewed.

dbt-trino's ``jwt`` method sends whatever token its profile holds for the whole invocation, and
a Keycloak access token lives minutes; none of dbt-trino's methods gets one without a browser.
So the analytics resource runs this entry point instead of ``dbt``: dbt-trino's JWT
credentials authenticate with ``lakehouse.trino_auth`` (the ``LAKEHOUSE_TRINO_CLIENT_*``
client-credentials grant: a token fetched when the invocation opens its first connection,
shared by dbt's threads, renewed before it expires and when Trino refuses it); everything else
is dbt's. The profile holds no token at all.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from lakehouse.settings import Settings, load_settings
from lakehouse.trino_auth import ClientCredentialsAuthentication, lakehouse_authentication


def install_token_authentication(settings: Settings) -> None:
    """Make dbt-trino's ``jwt`` credentials authenticate with the settings' client credentials.

    dbt-trino has no hook for an authentication of one's own: its credentials class builds
    trino's ``JWTAuthentication`` from the profile's string, so that one method is replaced.
    The authentication is made on first use, so ``dbt parse`` needs no credentials.
    """
    from dbt.adapters.trino.connections import TrinoJwtCredentials

    shared = functools.cache(lambda: lakehouse_authentication(settings))

    def trino_auth(self: Any) -> ClientCredentialsAuthentication:
        return shared()

    TrinoJwtCredentials.trino_auth = trino_auth  # type: ignore[method-assign]


def main() -> None:
    # The edge of the dbt process: the settings the dbt resource laid into its environment.
    settings = load_settings()
    if settings.analytics_target == "trino":
        install_token_authentication(settings)
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
