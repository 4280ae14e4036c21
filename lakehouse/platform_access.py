"""Reach the platform's storage and Trino with the configured credentials, or say in one line
which setting to fix. For ``lakehouse doctor`` and the first call of a run: a refused key or
client fails here, named, instead of deep inside a write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
    from lakehouse.trino_auth import connect

    with trino_errors_named(settings), connect(settings) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchall()
    return f"Trino at https://{settings.trino_host}:{settings.trino_port} answers as {settings.trino_user}"


@contextlib.contextmanager
def trino_errors_named(settings: Settings) -> Iterator[None]:
    """Turn a refused token, a refused certificate or an unreachable Trino into one line naming
    the settings to fix; query errors (a bad statement, a missing table) pass through."""
    import requests
    import trino.exceptions

    from lakehouse.trino_auth import TokenError

    where = f"Trino at https://{settings.trino_host}:{settings.trino_port}"
    try:
        yield
    except TokenError as error:
        if not settings.trino_client_id:
            raise PlatformAccessError(f"{where}: {_first_line(error)}") from None
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
    except (
        trino.exceptions.TrinoConnectionError,
        requests.exceptions.SSLError,
        requests.exceptions.ConnectionError,
    ) as error:
        raise PlatformAccessError(
            f"{where} unreachable ({_first_line(error)[:160]}): check LAKEHOUSE_TRINO_HOST, "
            "LAKEHOUSE_TRINO_PORT and LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE"
        ) from None


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
