"""The Iceberg catalog, built from settings: SQL (SQLite or PostgreSQL) or REST (Keycloak OAuth2)."""

# No `from __future__ import annotations`: Dagster reads the resource fields' annotations
# (`dg.ResourceDependency[Settings]`) as objects.

from typing import Any

import dagster as dg
from pyiceberg.catalog import Catalog, load_catalog

# Re-exported: callers name the catalog's errors from here.
from lakehouse.iceberg.unreachable import CatalogUnavailableError as CatalogUnavailableError
from lakehouse.iceberg.unreachable import described_catalog
from lakehouse.iceberg.unreachable import names_unreachable_catalog as names_unreachable_catalog
from lakehouse.settings import NAMESPACES, Settings, get_settings


def catalog_properties(settings: Settings) -> dict[str, str]:
    """pyiceberg properties for ``settings``; secrets included, so never log the result."""
    props: dict[str, str] = {"warehouse": settings.warehouse_location}
    if settings.catalog_type == "sql":
        props |= {"type": "sql", "uri": settings.sql_catalog_uri}
        if settings.sql_catalog_uri.startswith("postgresql"):
            # Test each pooled connection before use: after the server restarted or cut its
            # connections, the first catalog call would otherwise fail on a dead one.
            props["pool_pre_ping"] = "true"
        if settings.sql_catalog_uri.startswith("sqlite"):
            # The warehouse directory must exist before pyiceberg writes the first metadata file.
            settings.home_dir.mkdir(parents=True, exist_ok=True)
    else:
        props |= {"type": "rest", "uri": settings.catalog_uri or ""}
        if settings.catalog_client_id and settings.catalog_client_secret:
            secret = settings.catalog_client_secret.get_secret_value()
            props |= {
                "credential": f"{settings.catalog_client_id}:{secret}",
                "scope": settings.catalog_scope,
            }
            if settings.catalog_oauth2_server_uri:
                props["oauth2-server-uri"] = settings.catalog_oauth2_server_uri
    if settings.s3_endpoint:
        props |= {
            "s3.endpoint": settings.s3_endpoint,
            "s3.region": settings.s3_region,
            "s3.force-virtual-addressing": str(not settings.s3_path_style).lower(),
        }
        if settings.s3_access_key_id and settings.s3_secret_access_key:
            props |= {
                "s3.access-key-id": settings.s3_access_key_id.get_secret_value(),
                "s3.secret-access-key": settings.s3_secret_access_key.get_secret_value(),
            }
    return props


def describe_catalog(settings: Settings) -> str:
    """A secret-free one-line description for errors and logs."""
    uri = settings.sql_catalog_uri if settings.catalog_type == "sql" else settings.catalog_uri
    return described_catalog(settings.catalog_type, settings.catalog_name, uri)


def build_catalog(settings: Settings, *, create_namespaces: bool = True) -> Catalog:
    """Open the configured catalog and create the layer namespaces if they are missing."""
    try:
        catalog = load_catalog(settings.catalog_name, **catalog_properties(settings))
        if create_namespaces:
            for namespace in NAMESPACES:
                catalog.create_namespace_if_not_exists(namespace)
    except Exception as error:  # any driver or HTTP error: name the catalog, hide secrets
        detail = _redact(str(error), settings).strip().splitlines()[0]
        raise CatalogUnavailableError(
            f"cannot open the {describe_catalog(settings)}: {type(error).__name__}: "
            f"{detail}{_credentials_hint(detail, settings)}"
        ) from None
    return catalog


def _credentials_hint(detail: str, settings: Settings) -> str:
    """Name the setting to fix when the catalog refused the credentials it was given."""
    if settings.catalog_type == "rest" and any(
        code in detail for code in ("unauthorized_client", "invalid_client", "401")
    ):
        return (
            f"; check LAKEHOUSE_CATALOG_CLIENT_ID ({settings.catalog_client_id}) and "
            "LAKEHOUSE_CATALOG_CLIENT_SECRET"
        )
    if "password authentication failed" in detail or "no password supplied" in detail:
        return (
            "; check the password of the user named in LAKEHOUSE_CATALOG_URI, kept in the "
            "file PGPASSFILE names (never in the URL)"
        )
    return ""


def _redact(text: str, settings: Settings) -> str:
    for secret in settings.secret_values():
        text = text.replace(secret, "***")
    return text


def get_catalog(settings: Settings | None = None) -> Catalog:
    """The configured catalog, for notebooks and scripts (``lakehouse.get_catalog()``)."""
    return build_catalog(settings or get_settings())


class IcebergCatalogResource(dg.ConfigurableResource):
    """Dagster resource giving assets the configured catalog (the IO manager's, by default)."""

    settings: dg.ResourceDependency[Settings]

    def get_catalog(self) -> Catalog:
        return shared_catalog(self.settings)

    def load_table(self, identifier: str | tuple[str, ...]) -> Any:
        return self.get_catalog().load_table(identifier)


_CATALOGS: dict[Settings, Catalog] = {}


def shared_catalog(settings: Settings) -> Catalog:
    """One catalog per distinct settings per process: opening one costs a connection pool.
    Keyed by value (settings are frozen), not ``id``: a freed settings object's id can be
    reused by another settings object, which would then get the first one's catalog."""
    if settings not in _CATALOGS:
        _CATALOGS[settings] = build_catalog(settings)
    return _CATALOGS[settings]
