"""Reach the platform's storage and Trino with the configured credentials, or say in one line
which setting to fix. For ``lakehouse doctor`` and the first call of a run: a refused key or
client fails here, named, instead of deep inside a write."""

from __future__ import annotations

from lakehouse.settings import Settings

# S3 error codes that mean "these keys are wrong or not allowed", as S3 servers send them and
# as pyarrow's AWS SDK spells them.
S3_CREDENTIAL_ERRORS = (
    "InvalidAccessKeyId",
    "INVALID_ACCESS_KEY_ID",
    "SignatureDoesNotMatch",
    "SIGNATURE_DOES_NOT_MATCH",
    "AccessDenied",
    "ACCESS_DENIED",
)


class PlatformAccessError(RuntimeError):
    """A platform service refused or could not be reached; the message names the setting."""


def check_storage(settings: Settings, bucket: str) -> str:
    """List ``bucket`` with the settings' S3 keys (what every writer does first)."""
    from pyarrow import fs

    if not settings.s3_endpoint:
        raise PlatformAccessError("LAKEHOUSE_S3_ENDPOINT: not set, no S3 storage to check")
    keys = (settings.s3_access_key_id, settings.s3_secret_access_key)
    s3 = fs.S3FileSystem(
        endpoint_override=settings.s3_endpoint,
        access_key=keys[0].get_secret_value() if keys[0] else None,
        secret_key=keys[1].get_secret_value() if keys[1] else None,
        region=settings.s3_region,
        force_virtual_addressing=not settings.s3_path_style,
        connect_timeout=5,
        request_timeout=10,
    )
    try:
        s3.get_file_info(fs.FileSelector(bucket, allow_not_found=False))
    except OSError as error:
        text = str(error).splitlines()[0]
        if any(code in str(error) for code in S3_CREDENTIAL_ERRORS):
            raise PlatformAccessError(
                f"S3 at {settings.s3_endpoint} refused the keys for bucket {bucket}: check "
                "LAKEHOUSE_S3_ACCESS_KEY_ID and LAKEHOUSE_S3_SECRET_ACCESS_KEY"
            ) from None
        raise PlatformAccessError(
            f"S3 at {settings.s3_endpoint} (LAKEHOUSE_S3_ENDPOINT): bucket {bucket}: {text}"
        ) from None
    return f"bucket {bucket} is readable at {settings.s3_endpoint}"


def check_trino(settings: Settings) -> str:
    """Run ``SELECT 1`` on Trino as dbt does: a client-credentials token, HTTPS, the CA bundle."""
    import requests
    import trino.dbapi
    import trino.exceptions

    from lakehouse.trino_auth import (
        ClientCredentials,
        ClientCredentialsAuthentication,
        TokenError,
    )

    if not (settings.trino_client_id and settings.trino_client_secret):
        raise PlatformAccessError(
            "LAKEHOUSE_TRINO_CLIENT_ID and LAKEHOUSE_TRINO_CLIENT_SECRET: not set, Trino "
            "accepts no request without a token"
        )
    verify: bool | str = str(settings.upkeep_trino_ca_bundle or True)
    session = requests.Session()
    session.verify = True if verify == "True" else verify
    # requests lets REQUESTS_CA_BUNDLE override a session's own CA bundle (psf/requests#3829).
    session.trust_env = verify == "True"
    credentials = ClientCredentials(
        token_uri=settings.trino_token_uri or "",
        client_id=settings.trino_client_id,
        client_secret=settings.trino_client_secret.get_secret_value(),
        verify=session.verify,
    )
    where = f"Trino at https://{settings.trino_host}:{settings.trino_port}"
    try:
        with trino.dbapi.connect(
            host=settings.trino_host,
            port=settings.trino_port,
            http_scheme="https",
            user=settings.trino_user,
            auth=ClientCredentialsAuthentication(credentials),
            http_session=session,
        ) as connection:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
    except TokenError as error:
        raise PlatformAccessError(
            f"{where}: no token for client {settings.trino_client_id} ({_first_line(error)}): "
            "check LAKEHOUSE_TRINO_CLIENT_ID, LAKEHOUSE_TRINO_CLIENT_SECRET and "
            "LAKEHOUSE_TRINO_TOKEN_URI"
        ) from None
    except trino.exceptions.HttpError as error:
        if "401" in str(error):
            raise PlatformAccessError(
                f"{where} refused the token of client {settings.trino_client_id}: check "
                "LAKEHOUSE_TRINO_TOKEN_URI (the realm Trino trusts) and the client's audience"
            ) from None
        raise PlatformAccessError(f"{where}: {_first_line(error)}") from None
    except (trino.exceptions.TrinoConnectionError, requests.exceptions.SSLError) as error:
        raise PlatformAccessError(
            f"{where} unreachable ({_first_line(error)[:160]}): check LAKEHOUSE_TRINO_HOST, "
            "LAKEHOUSE_TRINO_PORT and LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE"
        ) from None
    return f"{where} answers as {settings.trino_user}"


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
