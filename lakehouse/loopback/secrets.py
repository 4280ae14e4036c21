"""The loopback platform's secrets: generated at the first ``platform-up``, kept in one 0600
file under the platform directory, never printed (commands print variable names only)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

# Generated once per platform; the S3 keys are added when the storage server makes them.
GENERATED = (
    "postgres_keycloak",
    "postgres_catalog",
    "postgres_iceberg",
    "postgres_dagster",
    "keycloak_admin",
    "client_lakehouse_pipelines",
    "client_lakehouse_dbt",
    "client_lakehouse_upkeep",
    "client_trino",
    "client_oauth2_proxy",
    "client_minio",
    "client_lakekeeper_access",
    "trino_shared_secret",
)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def load(path: Path) -> dict[str, str]:
    """The secrets, or an empty dict when the file does not exist yet."""
    if not path.exists():
        return {}
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path}: readable by others; chmod 600 it (or remove it)")
    return json.loads(path.read_text())


def ensure(path: Path) -> tuple[dict[str, str], bool]:
    """The secrets, generating missing ones; True when the file was created just now."""
    current = load(path)
    created = not current
    missing = [name for name in GENERATED if name not in current]
    if missing:
        current |= {name: secrets.token_urlsafe(32) for name in missing}
        write_private(path, json.dumps(current, indent=1, sort_keys=True))
    return current, created


def update(path: Path, **values: str) -> dict[str, str]:
    current = load(path) | values
    write_private(path, json.dumps(current, indent=1, sort_keys=True))
    return current
