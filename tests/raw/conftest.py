"""Raw-layer fixtures: the recorded Airbyte API on loopback, and the isolated connector envs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from airbyte_replay import (
    CLIENT_ID,
    CLIENT_SECRET,
    WORKSPACE_ID,
    AirbyteReplayServer,
    RecordedAirbyte,
)

from lakehouse.raw.extraction import BOOTSTRAP
from lakehouse.settings import Settings, load_settings


@pytest.fixture
def airbyte_api() -> Iterator[tuple[RecordedAirbyte, str]]:
    """The recorded Airbyte API served on a free loopback port: (recorder, base URL)."""
    api = RecordedAirbyte(WORKSPACE_ID, CLIENT_ID, CLIENT_SECRET)
    with AirbyteReplayServer(api) as url:
        yield api, url


@pytest.fixture
def platform_settings(airbyte_api: tuple[RecordedAirbyte, str], tmp_path) -> Settings:
    _, url = airbyte_api
    return load_settings(
        {
            "LAKEHOUSE_RUNTIME": "platform",
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_CATALOG_TYPE": "rest",
            "LAKEHOUSE_CATALOG_URI": "http://127.0.0.1:9/catalog",  # never contacted here
            "LAKEHOUSE_AIRBYTE_API_URL": url,
            "LAKEHOUSE_AIRBYTE_WORKSPACE_ID": WORKSPACE_ID,
            "LAKEHOUSE_AIRBYTE_CLIENT_ID": CLIENT_ID,
            "LAKEHOUSE_AIRBYTE_CLIENT_SECRET": CLIENT_SECRET,
        }
    )


@pytest.fixture(scope="session")
def connector_envs() -> None:
    """The real-connector tests need the isolated envs; missing ones fail with the fix."""
    settings = load_settings({})
    path = settings.faker_executable_path
    if not path.exists():
        pytest.fail(f"{path} is missing: run {BOOTSTRAP} (make setup does)")
