"""Platform runtime: an Airbyte server syncs source-faker into the Iceberg catalog itself.

dagster-airbyte reads the workspace's connections at load and triggers syncs; our translator
gives each stream the same asset key, group, kinds and description as the embedded runtime.
A connection belongs to the raw layer when its table prefix makes one of our raw tables
(prefix ``faker_`` + stream ``users`` -> ``raw/faker_users``); other connections are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import dagster as dg
from dagster_airbyte import (
    AirbyteConnectionTableProps,
    AirbyteWorkspace,
    DagsterAirbyteTranslator,
    build_airbyte_assets_definitions,
)
from dagster_airbyte.translator import AirbyteConnection

from lakehouse.raw.streams import KINDS, RAW_GROUP, RAW_NAMESPACE, STREAMS, raw_asset_spec
from lakehouse.settings import PREFIX, Settings

STREAMS_BY_TABLE = {stream.table: stream for stream in STREAMS}
DEFAULT_POLL_INTERVAL_SECONDS = 10.0


class LakehouseAirbyteTranslator(DagsterAirbyteTranslator):
    """Maps an Airbyte stream to its raw asset (``raw/faker_users``), like the embedded runtime."""

    def get_asset_spec(self, props: AirbyteConnectionTableProps) -> dg.AssetSpec:
        spec = super().get_asset_spec(props)
        stream = STREAMS_BY_TABLE.get(props.table_name)
        if stream is None:  # a stream the embedded runtime does not know: still a raw table
            return spec.replace_attributes(
                key=[RAW_NAMESPACE, props.table_name], group_name=RAW_GROUP, kinds=set(KINDS)
            )
        ours = raw_asset_spec(stream)
        # The embedded spec's catalog metadata wins (column schema with PII marks, table name,
        # primary key); Airbyte's own entries (connection id, stream) stay beside it.
        return spec.replace_attributes(
            key=ours.key,
            description=ours.description,
            group_name=ours.group_name,
            kinds=ours.kinds,
            owners=ours.owners,
            tags={**_without_kinds(spec.tags), **ours.tags},
            metadata={**spec.metadata, **ours.metadata},
        )


def _without_kinds(tags: Mapping[str, str]) -> dict[str, str]:
    """Airbyte's tags minus its kind tags (e.g. the destination's): ``kinds`` is ours alone."""
    return {name: value for name, value in tags.items() if not name.startswith("dagster/kind/")}


def is_raw_connection(connection: AirbyteConnection) -> bool:
    """True when the connection syncs at least one of our raw tables."""
    prefix = connection.stream_prefix or ""
    return any(
        stream.selected and f"{prefix}{name}" in STREAMS_BY_TABLE
        for name, stream in connection.streams.items()
    )


def airbyte_workspace(
    settings: Settings, *, poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS
) -> AirbyteWorkspace:
    """The Airbyte workspace resource from settings (``LAKEHOUSE_AIRBYTE_*``)."""
    base = (settings.airbyte_api_url or "").rstrip("/").removesuffix("/api/public/v1")
    return AirbyteWorkspace(
        rest_api_base_url=f"{base}/api/public/v1",
        configuration_api_base_url=f"{base}/api/v1",
        workspace_id=settings.airbyte_workspace_id or "",
        client_id=settings.airbyte_client_id,
        client_secret=_client_secret(settings),
        poll_interval=poll_interval_seconds,
    )


def _client_secret(settings: Settings) -> str | dg.EnvVar | None:
    """An EnvVar when the secret came from the environment, so Dagster's UI shows its name only.

    Dagster displays plain resource config values; settings built from a dict (tests) pass it as is.
    """
    if settings.airbyte_client_secret is None:
        return None
    secret = settings.airbyte_client_secret.get_secret_value()
    name = f"{PREFIX}AIRBYTE_CLIENT_SECRET"
    return dg.EnvVar(name) if os.environ.get(name) == secret else secret


def build_platform_raw_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    """The raw assets of the workspace's faker connection (read from the Airbyte API at load).

    They run with the ``airbyte`` resource that lakehouse/resources.py binds beside the others:
    ``dg.with_resources`` here would also bind a default ``io_manager`` to these assets, which
    conflicts with the location's own and makes the whole location fail to load.
    """
    return list(
        build_airbyte_assets_definitions(
            workspace=airbyte_workspace(settings),
            dagster_airbyte_translator=LakehouseAirbyteTranslator(),
            connection_selector_fn=is_raw_connection,
        )
    )
