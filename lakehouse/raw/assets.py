"""The raw layer's assets for the configured runtime: one asset per Airbyte stream, same keys on both."""

from __future__ import annotations

import dagster as dg

from lakehouse.raw.embedded import build_embedded_raw_assets
from lakehouse.settings import Settings


def build_raw_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The connector run locally, writing through the configured catalog (embedded, or a small
    platform without an Airbyte server), or syncs on the Airbyte server (the platform's default).
    """
    if settings.raw_ingestion_mode == "airbyte-server":
        # Imported here: dagster-airbyte costs ~1.5 s of load that the embedded runtime never uses.
        from lakehouse.raw.platform import build_platform_raw_assets

        return build_platform_raw_assets(settings)
    return build_embedded_raw_assets(settings)
