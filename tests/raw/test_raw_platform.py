"""Platform runtime against a recorded Airbyte API: same asset keys, and a sync of the right connection."""

from __future__ import annotations

import dagster as dg
import pytest
from airbyte_replay import (
    DESTINATION_ID,
    FAKER_CONNECTION_ID,
    PUBLIC,
    WORKSPACE_ID,
    RecordedAirbyte,
)
from pydantic import SecretStr

from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.platform import airbyte_workspace, build_platform_raw_assets
from lakehouse.raw.streams import ASSET_KEYS, KINDS, RAW_GROUP, STREAMS
from lakehouse.settings import Settings, load_settings

LOAD_CALLS = [
    f"POST {PUBLIC}/applications/token",
    f"GET {PUBLIC}/workspaces/{WORKSPACE_ID}",
    f"GET {PUBLIC}/connections",
    "POST /api/v1/connections/get",
    f"GET {PUBLIC}/destinations/{DESTINATION_ID}",
    "POST /api/v1/connections/get",
    f"GET {PUBLIC}/destinations/{DESTINATION_ID}",
]


def _keys(assets: list[dg.AssetsDefinition]) -> set[dg.AssetKey]:
    return {key for asset in assets for key in asset.keys}


def _specs(assets: list[dg.AssetsDefinition]) -> dict[dg.AssetKey, dg.AssetSpec]:
    return {spec.key: spec for asset in assets for spec in asset.specs}


def test_platform_assets_have_the_embedded_keys_group_kinds_and_descriptions(
    platform_settings: Settings, airbyte_api: tuple[RecordedAirbyte, str], tmp_path
):
    api, _ = airbyte_api
    platform = build_raw_assets(platform_settings)
    embedded = build_raw_assets(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))

    assert _keys(platform) == _keys(embedded) == set(ASSET_KEYS.values())
    platform_specs, embedded_specs = _specs(platform), _specs(embedded)
    for stream in STREAMS:
        ours, theirs = platform_specs[stream.asset_key], embedded_specs[stream.asset_key]
        assert ours.group_name == theirs.group_name == RAW_GROUP
        assert ours.kinds == theirs.kinds == set(KINDS)
        assert ours.description == theirs.description == stream.description
        # The catalog an analyst browses is the same on both runtimes.
        assert ours.owners == theirs.owners and ours.owners
        assert ours.tags.items() >= theirs.tags.items() and theirs.tags
        for name in ("dagster/column_schema", "dagster/table_name", "primary_key"):
            assert ours.metadata[name] == theirs.metadata[name], name
    # The shop connection (prefix shop_) is not part of the raw layer's faker streams.
    assert len(platform) == 1
    assert api.calls() == LOAD_CALLS
    assert api.requests[2].query["workspaceIds"] == [WORKSPACE_ID]


def test_materialising_syncs_the_faker_connection_and_polls_until_it_succeeds(
    platform_settings: Settings, airbyte_api: tuple[RecordedAirbyte, str]
):
    api, _ = airbyte_api
    assets = build_platform_raw_assets(platform_settings)
    airbyte = airbyte_workspace(platform_settings, poll_interval_seconds=0.05)
    loaded = len(api.requests)

    with dg.instance_for_test() as instance:
        result = dg.materialize(assets, instance=instance, resources={"airbyte": airbyte})

    assert result.success
    materialised = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialised == set(ASSET_KEYS.values())
    run_calls = api.requests[loaded:]
    started = [
        request
        for request in run_calls
        if (request.method, request.path) == ("POST", f"{PUBLIC}/jobs")
    ]
    assert [request.body for request in started] == [
        {"connectionId": FAKER_CONNECTION_ID, "jobType": "sync"}
    ]
    listed = [
        request
        for request in run_calls
        if request.path == f"{PUBLIC}/jobs" and request.method == "GET"
    ]
    assert listed and listed[0].query["connectionId"] == [FAKER_CONNECTION_ID]
    polls = [request.path for request in run_calls if request.path == f"{PUBLIC}/jobs/42"]
    assert polls == [f"{PUBLIC}/jobs/42"] * 2  # running, then succeeded
    assert all(request.authorization for request in run_calls[1:])


def test_wrong_credentials_fail_at_load_naming_the_token_url(platform_settings: Settings):
    wrong = platform_settings.model_copy(
        update={"airbyte_client_secret": SecretStr("not-the-secret")}
    )
    with pytest.raises(dg.Failure, match="applications/token"):
        build_raw_assets(wrong)
