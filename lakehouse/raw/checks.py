"""The raw layer's blocking data contracts, one per stream."""

from __future__ import annotations

import dagster as dg

from lakehouse.wap.gate import build_pandera_check


def _schema(stream: str):  # returns a loader: pandera stays out of load-time imports
    def load():
        from lakehouse.raw.schemas import SCHEMAS

        return SCHEMAS[stream]

    return load


def build_raw_checks(asset_keys: dict[str, dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """One blocking pandera check per stream, given the stream -> asset key mapping."""
    return [
        build_pandera_check(
            key,
            _schema(stream),
            description=f"pandera contract for {key.to_user_string()}: "
            "types, nullability, ranges and unique keys (lakehouse/raw/schemas.py)",
        )
        for stream, key in asset_keys.items()
    ]
