"""IO manager fixtures, on SQLite and (when reachable) PostgreSQL catalogs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
import pytest
from pyiceberg.catalog import Catalog

from lakehouse.io_manager import IcebergIOManager
from lakehouse.settings import load_settings


@pytest.fixture
def io_manager(any_environment: dict[str, str]) -> IcebergIOManager:
    """The IO manager on a fresh catalog and warehouse (SQLite, then PostgreSQL)."""
    return IcebergIOManager(settings=load_settings(any_environment))


@pytest.fixture
def iceberg_catalog(io_manager: IcebergIOManager) -> Catalog:
    return io_manager.get_catalog()


@pytest.fixture
def materialize(io_manager: IcebergIOManager) -> Callable[..., dg.ExecuteInProcessResult]:
    """``dg.materialize`` through this test's IO manager; run errors are raised."""

    def run(assets: Sequence[Any], **kwargs: Any) -> dg.ExecuteInProcessResult:
        return dg.materialize(assets, resources={"io_manager": io_manager}, **kwargs)

    return run


@pytest.fixture
def output_metadata() -> Callable[[dg.ExecuteInProcessResult, list[str]], dict[str, Any]]:
    """The materialisation metadata a run recorded for an asset, as plain values."""

    def read(result: dg.ExecuteInProcessResult, asset_key: list[str]) -> dict[str, Any]:
        [materialization] = [
            event.materialization
            for event in result.get_asset_materialization_events()
            if event.asset_key == dg.AssetKey(asset_key)
        ]
        return {name: value.value for name, value in materialization.metadata.items()}

    return read
