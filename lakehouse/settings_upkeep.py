"""The upkeep jobs' settings (lakehouse/upkeep/), part of ``lakehouse.settings.Settings``.

Apart only to keep each file about one thing; they are read with every other setting, from
``LAKEHOUSE_<FIELD>``, by ``lakehouse.settings.load_settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class UpkeepSettings(BaseModel):
    """Compaction, expiry, orphans, backups, restore checks, retention, erasure, table health.
    Per-table overrides live in lakehouse/upkeep/rules.py."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backup_location: str | None = Field(
        None,
        description="backup root: a directory or s3://backups/lakehouse (default <home>/backups)",
    )
    upkeep_target_file_size_bytes: int = Field(
        128 * 1024 * 1024, gt=0, description="compaction's target data file size in bytes"
    )
    upkeep_small_file_fraction: float = Field(
        0.75, gt=0, le=1, description="a data file is small below this fraction of the target size"
    )
    upkeep_min_small_files: int = Field(
        5, ge=2, description="compact a partition only when it holds at least this many small files"
    )
    upkeep_compaction_engine: Literal["pyiceberg", "trino", "spark"] = Field(
        "pyiceberg", description="who rewrites files: pyiceberg (embedded), trino or spark"
    )
    upkeep_trino_url: str | None = Field(None, description="Trino coordinator URL for compaction")
    upkeep_trino_user: str = Field("lakehouse-upkeep", description="Trino user for compaction")
    upkeep_spark_remote: str | None = Field(
        None, description="Spark Connect URL (sc://host:15002) for compaction"
    )
    # Compaction through Trino on the platform: a Keycloak service account (client credentials),
    # its access token sent to Trino as a bearer JWT.
    upkeep_trino_token_uri: str | None = Field(
        None, description="Keycloak token endpoint for the upkeep client's client-credentials grant"
    )
    upkeep_trino_client_id: str | None = Field(
        None, description="OAuth2 client id of the upkeep client"
    )
    upkeep_trino_client_secret: SecretStr | None = Field(
        None, description="OAuth2 client secret of the upkeep client"
    )
    upkeep_trino_scope: str | None = Field(None, description="OAuth2 scope asked for (optional)")
    upkeep_trino_verify: bool = Field(
        True, description="verify TLS certificates of Trino and the token endpoint"
    )
    upkeep_trino_ca_bundle: Path | None = Field(
        None,
        description="CA bundle (PEM) trusted for Trino and the token endpoint; dbt's trino "
        "target uses it too (`cert` in dbt/profiles.yml)",
    )
    upkeep_snapshot_max_age_days: float = Field(
        7.0, ge=0, description="snapshots younger than this are kept by expiry"
    )
    upkeep_snapshot_min_keep: int = Field(
        3, ge=1, description="expiry keeps at least this many snapshots of each branch"
    )
    audit_branch_retention_hours: float = Field(
        72.0,
        ge=0,
        description="a rejected batch's audit branch is kept this long for inspection, then "
        "removed by the snapshot expiry job",
    )
    upkeep_orphan_safety_hours: float = Field(
        72.0, ge=1, description="orphan removal ignores files younger than this (in-flight commits)"
    )
    upkeep_backup_retention_days: float = Field(
        30.0, gt=0, description="backups older than this are pruned from the backup location"
    )
    upkeep_rpo_seconds: float = Field(
        3600.0, gt=0, description="restore check fails above this RPO"
    )
    upkeep_rto_seconds: float = Field(
        14400.0, gt=0, description="restore check fails above this RTO"
    )
    upkeep_restore_namespace: str = Field(
        "restore_check", description="scratch namespace the restore check restores into"
    )
    upkeep_metrics_dir: Path | None = Field(
        None, description="Prometheus textfile directory (default <home>/metrics)"
    )
    upkeep_pushgateway_url: str | None = Field(
        None, description="Prometheus Pushgateway URL the upkeep metrics are also pushed to"
    )
    upkeep_erasure_inbox: str | None = Field(
        None, description="where GDPR erasure requests wait (default <home>/erasure-requests)"
    )
    upkeep_schedules_running: bool | None = Field(
        None, description="upkeep schedules start running (default: on the platform runtime only)"
    )
