"""The governance settings (lakehouse/governance/), part of ``lakehouse.settings.Settings``.

Apart only to keep each file about one thing, as ``settings_upkeep.py``; they are read with every
other setting, from ``LAKEHOUSE_<FIELD>``, by ``lakehouse.settings.load_settings``. The values
derived from them (``audit_store_url``, ``lineage_transport``, ...) are ``Settings`` properties.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class GovernanceSettings(BaseModel):
    """The audit trail, the OpenLineage export, archives and the consent inbox."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    audit_url: str | None = Field(
        None,
        description="audit store: sqlite:///path, or postgresql+psycopg2://user@host:5432/audit "
        "(a database of its own on the platform); default sqlite:///<home>/audit.db",
    )
    audit_password: SecretStr | None = Field(
        None, description="password of the audit store's PostgreSQL user"
    )
    audit_retention_user: str | None = Field(
        None,
        description="PostgreSQL login of the audit store's retention role, used by the "
        "retention job alone to purge audit rows older than seven years",
    )
    audit_retention_password: SecretStr | None = Field(
        None, description="password of the audit retention login"
    )
    audit_trino_events_token: SecretStr | None = Field(
        None,
        description="bearer token Trino's HTTP event listener sends to the audit receiver "
        "(unset: the receiver accepts only requests without a token, for tests)",
    )
    audit_trino_catalog: str = Field(
        "iceberg", description="Trino catalog whose tables are the lakehouse's Iceberg tables"
    )
    openlineage_transport: Literal["off", "console", "file", "http"] | None = Field(
        None,
        description="where OpenLineage events go: off, console, file or http (default: http "
        "when LAKEHOUSE_OPENLINEAGE_URL is set, else file embedded and off on the platform)",
    )
    openlineage_url: str | None = Field(
        None,
        description="base URL of the data catalog's OpenLineage endpoint (DataHub, "
        "OpenMetadata, Marquez)",
    )
    openlineage_endpoint: str = Field(
        "api/v1/lineage", description="path of the OpenLineage endpoint under the URL"
    )
    openlineage_api_key: SecretStr | None = Field(
        None, description="bearer token for the OpenLineage endpoint"
    )
    openlineage_namespace: str = Field(
        "lakehouse", description="OpenLineage namespace of the code location's jobs"
    )
    archive_location: str | None = Field(
        None,
        description="where retention archives rows before deleting them: a directory or "
        "s3://bucket/prefix (default <warehouse>/archive)",
    )
    consents_inbox: str | None = Field(
        None,
        description="where consent decisions arrive as JSON Lines files for governance/consents: "
        "a directory or s3://bucket/prefix (default <home>/consents)",
    )
