"""The raw layer's blocking data contracts, one per stream."""

from __future__ import annotations

import dagster as dg

from lakehouse.quality import build_pandera_check
from lakehouse.raw.schemas import SCHEMAS


def build_raw_checks(asset_keys: dict[str, dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """One blocking pandera check per stream, given the stream → asset key mapping."""
    return [build_pandera_check(asset_keys[stream], schema) for stream, schema in SCHEMAS.items()]
