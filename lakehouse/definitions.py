"""The lakehouse code location. It assembles the layers, resources and policies; it defines nothing.

Loading it must stay cheap: no Spark session, no dbt parse, no Airbyte import (bench/load.py).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import TracebackType

import dagster as dg

from lakehouse.analytics.assets import build_analytics_assets
from lakehouse.automation import apply_policies, build_automation
from lakehouse.governance.consent_asset import consents
from lakehouse.governance.sensors import configured_governance_sensors
from lakehouse.ml import build_ml_assets, build_ml_checks
from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.streams import ASSET_KEYS
from lakehouse.resources import build_executor, build_resources
from lakehouse.settings import Settings, SettingsError, get_settings, load_settings
from lakehouse.staging import build_staging_assets, build_staging_checks
from lakehouse.upkeep.jobs import build_upkeep


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The whole location for the process settings, or for ``environ`` (tests, scripts)."""
    settings = _settings(environ)
    upkeep = build_upkeep(settings)
    automation = build_automation(settings)
    return dg.Definitions(
        # Catalog defaults and each layer's freshness policy, applied to every asset at once.
        assets=apply_policies(
            [
                *build_raw_assets(settings),
                *build_staging_assets(),
                *build_analytics_assets(settings),
                *build_ml_assets(),
                consents,  # governance/consents: what the ml features may use (seed §5.2)
                *upkeep.assets,
            ],
            settings.catalog_name,
        ),
        asset_checks=[*build_raw_checks(ASSET_KEYS), *build_staging_checks(), *build_ml_checks()],
        jobs=[*upkeep.jobs, *automation.jobs],
        schedules=[*upkeep.schedules, *automation.schedules],
        # Every run's outcome to the audit trail and OpenLineage; every schema change audited.
        sensors=[*automation.sensors, *configured_governance_sensors(settings)],
        resources=build_resources(settings),
        executor=build_executor(settings),
    )


class LocationSettingsError(SettingsError):
    """A bad setting, as the one line ``lakehouse`` prints for it: the location fails to load
    with it (Dagster's UI and ``dagster definitions validate`` show it first)."""


def _settings(environ: Mapping[str, str] | None) -> Settings:
    try:
        return get_settings() if environ is None else load_settings(dict(environ))
    except SettingsError as error:
        _print_alone_when_uncaught()
        raise LocationSettingsError(error.one_line()) from None


def _print_alone_when_uncaught() -> None:
    """``dagster job execute`` lets a load error escape as a bare traceback of 80 lines with the
    cause at the end; print only the line instead (Dagster's own loaders catch the error and
    never reach this hook)."""
    previous = sys.excepthook
    if getattr(previous, "lakehouse_settings_line", False):
        return

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, LocationSettingsError):
            print(f"error: {error}", file=sys.stderr)
        else:
            previous(kind, error, tb)

    hook.lakehouse_settings_line = True  # type: ignore[attr-defined]
    sys.excepthook = hook


defs = build_definitions()
