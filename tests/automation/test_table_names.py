"""The UI's storage address of every table asset is its Iceberg table, dbt models included."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lakehouse.automation.catalog import TABLE_LAYERS, TABLE_NAME
from lakehouse.definitions import build_definitions
from lakehouse.iceberg import WriteRequest, write
from lakehouse.io_metadata import materialization_metadata


def _table_names(environ: dict[str, str]) -> dict[str, str | None]:
    graph = build_definitions(environ).resolve_asset_graph()
    names = {}
    for key in graph.get_all_asset_keys():
        value = graph.get(key).metadata.get(TABLE_NAME)
        names[key.to_user_string()] = None if value is None else str(getattr(value, "value", value))
    return names


@pytest.mark.parametrize("catalog_name", ["lakehouse", "shop"])
def test_every_table_asset_is_named_by_its_iceberg_table(tmp_path, catalog_name: str) -> None:
    names = _table_names({"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_CATALOG_NAME": catalog_name})
    tables = {key: name for key, name in names.items() if key.split("/")[0] in TABLE_LAYERS}
    assert {"raw/faker_users", "staging/purchases", "analytics/fct_purchases"} <= set(tables)
    assert any(key.startswith("ml/") for key in tables)
    expected = {key: f"{catalog_name}.{key.replace('/', '.')}" for key in tables}
    assert tables == expected  # dbt's own would be memory.analytics.<model> (DuckDB)
    # Upkeep assets hold run reports, not tables: no address to mislead.
    assert all(name is None for key, name in names.items() if key.startswith("upkeep/"))


def test_materialisations_name_the_table_with_its_catalog(catalog) -> None:
    result = write(catalog, pa.table({"id": [1, 2]}), WriteRequest(("raw", "things")))
    metadata = materialization_metadata(result, partition_replaced=False)
    assert metadata[TABLE_NAME] == f"{catalog.name}.raw.things"
