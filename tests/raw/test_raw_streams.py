"""One stream list for both runtimes: keys, tables, and agreement with the pandera contracts."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.schemas import SCHEMAS
from lakehouse.raw.streams import ASSET_KEYS, STREAMS, raw_asset_spec
from lakehouse.settings import load_settings


def test_each_stream_is_one_raw_asset_named_after_its_table():
    assert {
        "users": dg.AssetKey(["raw", "faker_users"]),
        "products": dg.AssetKey(["raw", "faker_products"]),
        "purchases": dg.AssetKey(["raw", "faker_purchases"]),
    } == ASSET_KEYS
    for stream in STREAMS:
        assert ".".join(stream.identifier) == stream.asset_key.to_user_string().replace("/", ".")
        spec = raw_asset_spec(stream)
        assert spec.group_name == "raw" and spec.kinds == {"airbyte", "iceberg"}


def test_every_column_the_pandera_contract_checks_is_declared_with_a_compatible_type():
    assert set(SCHEMAS) == set(ASSET_KEYS)
    for stream in STREAMS:
        for name, column in SCHEMAS[stream.name].columns.items():
            field = stream.schema.field(name)
            if str(column.dtype).startswith("datetime64"):
                assert field.type == pa.timestamp("us", tz="UTC"), name
            elif str(column.dtype) in {"Int64", "int64"}:
                assert field.type == pa.int64(), name
            elif str(column.dtype) == "float64":
                assert field.type == pa.float64(), name
            elif str(column.dtype) == "object":  # a struct's text fields
                assert pa.types.is_struct(field.type), name
            else:
                assert field.type == pa.string(), name


def test_embedded_assets_upsert_on_the_primary_key_and_may_skip_a_stream(tmp_path):
    (assets,) = build_raw_assets(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))
    assert set(assets.keys) == set(ASSET_KEYS.values())
    assert assets.can_subset
    for spec in assets.specs:
        assert spec.metadata["write_mode"] == "upsert"
        assert spec.metadata["upsert_keys"] == ["id"]
        assert spec.skippable


def test_text_inside_a_struct_column_is_bounded_like_any_text():
    """A megabyte city in ``address`` is refused, naming the column, like a megabyte name."""
    from raw_batches import users

    from lakehouse.quality import validate_table
    from lakehouse.raw.schemas import MAX_TEXT_CHARS

    fine = validate_table(SCHEMAS["users"], users([1, 2], ["Lyon", None]))
    assert fine.passed, fine.summary()
    huge = users([1, 2, 3], ["Lyon", "x" * (MAX_TEXT_CHARS + 1), "é" * 1_048_576])
    report = validate_table(SCHEMAS["users"], huge)
    assert [(f.column, f.bad_rows) for f in report.failures] == [("address", 2)], report.summary()
