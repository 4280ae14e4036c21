"""The lakehouse code location. It assembles the layers, resources and policies; it defines nothing.

Loading it must stay cheap: no Spark session, no dbt parse, no Airbyte import (bench/load.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.streams import ASSET_KEYS
from lakehouse.resources import build_executor, build_resources
from lakehouse.settings import get_settings, load_settings


def build_definitions(environ: Mapping[str, str] | None = None) -> dg.Definitions:
    """The whole location for the process settings, or for ``environ`` (tests, scripts)."""
    settings = get_settings() if environ is None else load_settings(dict(environ))
    return dg.Definitions(
        assets=build_raw_assets(settings),
        asset_checks=build_raw_checks(ASSET_KEYS),
        resources=build_resources(environ),
        executor=build_executor(settings),
    )


defs = build_definitions()
