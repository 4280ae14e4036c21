"""One typed view of the environment, read once.

Every runtime difference (embedded laptop/CI versus the Kubernetes platform) is a value
here; asset code never reads ``os.environ`` and never asks which runtime it is on.
With no ``LAKEHOUSE_*`` variable set you get the embedded runtime under ``.lakehouse/``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError, model_validator

from lakehouse.settings_core import CoreSettings
from lakehouse.settings_governance import GovernanceSettings
from lakehouse.settings_upkeep import UpkeepSettings

PREFIX = "LAKEHOUSE_"
NAMESPACES: tuple[str, ...] = ("raw", "staging", "analytics", "ml")
REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names the variable and what it expects."""

    def one_line(self) -> str:
        """The heading and its problems (one a line in the message) as the one line a CLI or
        the code location's load error shows."""
        head, *problems = [line.strip(" -") for line in str(self).strip().splitlines()]
        return f"{head} {'; '.join(problems)}" if problems else head


class Settings(GovernanceSettings, UpkeepSettings, CoreSettings):
    """Lakehouse settings; each field is the environment variable ``LAKEHOUSE_<FIELD>``."""

    @model_validator(mode="after")
    def _check_runtime(self) -> Settings:
        problems: list[str] = []
        if self.catalog_type == "rest":
            if not self.catalog_uri or not self.catalog_uri.startswith(("http://", "https://")):
                problems.append(f"{PREFIX}CATALOG_URI: the REST catalog needs an http(s) URL")
            if bool(self.catalog_client_id) != bool(self.catalog_client_secret):
                problems.append(
                    f"{PREFIX}CATALOG_CLIENT_ID and {PREFIX}CATALOG_CLIENT_SECRET: set both or neither"
                )
        elif self.catalog_uri and not self.catalog_uri.startswith(("sqlite", "postgresql")):
            problems.append(
                f"{PREFIX}CATALOG_URI: the SQL catalog needs a sqlite:/// or postgresql+psycopg2:// "
                f"URL, got {self.catalog_uri.split(':', 1)[0]}:..."
            )
        if bool(self.trino_client_id) != bool(self.trino_client_secret):
            problems.append(
                f"{PREFIX}TRINO_CLIENT_ID and {PREFIX}TRINO_CLIENT_SECRET: set both or neither"
            )
        if self.trino_client_id and not self.trino_token_uri:
            problems.append(f"{PREFIX}TRINO_TOKEN_URI: dbt's Trino client needs the token endpoint")
        if bool(self.upkeep_trino_client_id) != bool(self.upkeep_trino_client_secret):
            problems.append(
                f"{PREFIX}UPKEEP_TRINO_CLIENT_ID and {PREFIX}UPKEEP_TRINO_CLIENT_SECRET: set both or neither"
            )
        if self.upkeep_trino_client_id and not self.upkeep_trino_token_uri:
            problems.append(
                f"{PREFIX}UPKEEP_TRINO_TOKEN_URI: the upkeep client needs the token endpoint"
            )
        home = self.home.expanduser()
        if home.exists() and not home.is_dir():
            problems.append(
                f"{PREFIX}HOME: {home} is a file; name a directory (created if missing)"
            )
        if self.warehouse and self.warehouse.startswith("s3") and not self.s3_endpoint:
            problems.append(f"{PREFIX}S3_ENDPOINT: an s3:// warehouse needs the S3 endpoint URL")
        sqlite = self.catalog_type == "sql" and (self.catalog_uri or "sqlite").startswith("sqlite")
        if self.runtime == "platform" and sqlite:
            problems.append(
                f"{PREFIX}CATALOG_URI: the platform runtime needs a PostgreSQL or REST catalog"
            )
        airbyte_server = self.raw_ingestion_mode == "airbyte-server"
        for name in ("airbyte_api_url", "airbyte_workspace_id") if airbyte_server else ():
            if not getattr(self, name):
                problems.append(
                    f"{PREFIX}{name.upper()}: required to sync through an Airbyte server "
                    f"(the platform's default) unless {PREFIX}RAW_INGESTION=connector"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # Derived values: one place, so no caller recomputes them.
    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def sql_catalog_uri(self) -> str:
        return self.catalog_uri or f"sqlite:///{self.home_dir / 'catalog.db'}"

    @property
    def warehouse_location(self) -> str:
        return self.warehouse or (self.home_dir / "warehouse").as_uri()

    @property
    def faker_executable_path(self) -> Path:
        return (
            self.faker_executable or REPO_ROOT / ".venvs" / "source-faker" / "bin" / "source-faker"
        )

    @property
    def metrics_path(self) -> Path:
        """The Prometheus textfile directory the upkeep jobs write to."""
        return (self.upkeep_metrics_dir or self.home_dir / "metrics").expanduser()

    @property
    def backup_root(self) -> str:
        """Where backups go: the setting, else ``<home>/backups`` (embedded)."""
        return self.backup_location or (self.home_dir / "backups").as_uri()

    @property
    def erasure_inbox(self) -> str:
        """Where GDPR erasure requests wait for the scheduled job."""
        return self.upkeep_erasure_inbox or (self.home_dir / "erasure-requests").as_uri()

    def environment(self) -> dict[str, str]:
        """The ``LAKEHOUSE_*`` variables that give these settings again (``load_settings``), for
        the processes the code starts (dbt): each field set explicitly, and the resolved home.
        Secrets included: never log the result."""
        values = {
            f"{PREFIX}{name.upper()}": _variable(getattr(self, name))
            for name in sorted(self.model_fields_set)
        }
        return values | {f"{PREFIX}HOME": str(self.home_dir)}

    # Governance (settings_governance.py)
    @property
    def audit_store_url(self) -> str:
        return self.audit_url or f"sqlite:///{self.home_dir / 'audit.db'}"

    @property
    def lineage_transport(self) -> Literal["off", "console", "file", "http"]:
        if self.openlineage_transport is not None:
            return self.openlineage_transport
        if self.openlineage_url:
            return "http"
        return "file" if self.runtime == "embedded" else "off"

    @property
    def lineage_file(self) -> Path:
        """The file transport's JSON Lines file (one event a line)."""
        return self.home_dir / "openlineage" / "events.jsonl"

    @property
    def consent_inbox(self) -> str:
        return self.consents_inbox or (self.home_dir / "consents").as_uri()

    @property
    def archive_root(self) -> str | None:
        """None when the warehouse is a REST warehouse name, not a location."""
        if self.archive_location:
            return self.archive_location.rstrip("/")
        warehouse = self.warehouse or (self.home.expanduser().resolve() / "warehouse").as_uri()
        return f"{warehouse.rstrip('/')}/archive" if "://" in warehouse else None

    def secret_values(self) -> list[str]:
        """Every secret the settings hold, so logs and metadata can be checked against them."""
        return [
            value.get_secret_value()
            for value in (
                self.catalog_client_secret,
                self.s3_access_key_id,
                self.s3_secret_access_key,
                self.airbyte_client_secret,
                self.trino_client_secret,
                self.upkeep_trino_client_secret,
                self.audit_password,
                self.audit_retention_password,
                self.audit_trino_events_token,
                self.openlineage_api_key,
            )
            if value is not None and value.get_secret_value()
        ]


def _variable(value: Any) -> str:
    """A setting's value as its environment variable spells it."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        if field:
            described = Settings.model_fields.get(field)
            expects = (
                f" (expects {described.description})" if described and described.description else ""
            )
            lines.append(f"{PREFIX}{field.upper()}: {item['msg']}{expects}")
        else:
            lines.append(item["msg"].removeprefix("Value error, "))
    return "invalid lakehouse settings:\n  " + "\n  ".join(lines)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default: the process environment)."""
    source: dict[str, Any] = dict(os.environ if environ is None else environ)
    values = {
        key[len(PREFIX) :].lower(): value
        for key, value in source.items()
        if key.upper().startswith(PREFIX) and value != ""
    }
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        names = ", ".join(PREFIX + name.upper() for name in unknown)
        raise SettingsError(f"unknown lakehouse setting(s): {names}; see lakehouse/settings.py")
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return load_settings()


def settings_for(environment: Mapping[str, str]) -> Settings:
    """Resources' ``environment`` override (tests, scripts): those variables instead of the
    process environment; empty means the process settings. Cached per distinct override."""
    if not environment:
        return get_settings()
    return _settings_from(tuple(sorted(environment.items())))


@functools.cache
def _settings_from(environment: tuple[tuple[str, str], ...]) -> Settings:
    return load_settings(dict(environment))
