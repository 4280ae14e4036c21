"""The schema contract classifier: what an incoming batch changes, and whether it may publish."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lakehouse.governance.schema_contracts import SchemaContract, accept, classify
from lakehouse.raw.streams import STREAMS_BY_NAME

BASE = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("qty", pa.int32()),
        pa.field("ratio", pa.float32()),
        pa.field("amount", pa.decimal128(10, 2)),
        pa.field("email", pa.string()),
        pa.field("address", pa.struct([pa.field("city", pa.string())])),
        pa.field("scores", pa.list_(pa.int32())),
    ]
)
CONTRACT = SchemaContract.from_arrow("raw.t", BASE)


def changed(**fields: pa.Field | None) -> pa.Schema:
    """BASE with columns replaced (a field), removed (None) or added (a new name)."""
    out = [fields.pop(f.name, f) for f in BASE]
    return pa.schema([f for f in out if f is not None] + [f for f in fields.values() if f])


def kinds(schema: pa.Schema) -> list[tuple[str, str, bool]]:
    return [(c.kind, c.column, c.breaking) for c in classify(CONTRACT, schema).changes]


def test_the_same_schema_changes_nothing():
    verdict = classify(CONTRACT, BASE)
    assert verdict.changes == () and not verdict.blocked
    assert verdict.reason() == "raw.t: matches schema contract v1"


def test_an_added_nullable_column_is_allowed_and_a_required_one_breaks():
    assert kinds(changed(tier=pa.field("tier", pa.string()))) == [("added", "tier", False)]
    required = changed(tier=pa.field("tier", pa.string(), nullable=False))
    assert kinds(required) == [("added_required", "tier", True)]


@pytest.mark.parametrize(
    ("column", "wider"),
    [("qty", pa.int64()), ("ratio", pa.float64()), ("amount", pa.decimal128(12, 2))],
)
def test_type_widening_is_allowed(column, wider):
    verdict = classify(CONTRACT, changed(**{column: pa.field(column, wider)}))
    assert [(c.kind, c.column, c.breaking) for c in verdict.changes] == [("widened", column, False)]
    assert not verdict.blocked


@pytest.mark.parametrize(
    ("column", "other", "kind"),
    [
        ("id", pa.int32(), "narrowed"),
        ("amount", pa.decimal128(8, 2), "narrowed"),
        ("amount", pa.decimal128(12, 3), "type_changed"),
        ("email", pa.int64(), "type_changed"),
        ("address", pa.string(), "type_changed"),
    ],
)
def test_narrowing_and_other_type_changes_break(column, other, kind):
    nullable = BASE.field(column).nullable
    result = kinds(changed(**{column: pa.field(column, other, nullable=nullable)}))
    assert result == [(kind, column, True)]


def test_a_removed_column_breaks_and_a_rename_is_named():
    assert kinds(changed(email=None)) == [("removed", "email", True)]
    renamed = changed(email=None, email_address=pa.field("email_address", pa.string()))
    verdict = classify(CONTRACT, renamed)
    assert [(c.kind, c.column, c.new_column) for c in verdict.changes] == [
        ("renamed", "email", "email_address")
    ]
    assert verdict.blocked and "email renamed to email_address" in verdict.reason()


def test_nested_fields_are_compared_by_path():
    address = pa.struct([pa.field("city", pa.string()), pa.field("zip", pa.string())])
    assert kinds(changed(address=pa.field("address", address))) == [("added", "address.zip", False)]
    moved = pa.struct([pa.field("town", pa.int32())])
    assert kinds(changed(address=pa.field("address", moved))) == [
        ("removed", "address.city", True),
        ("added", "address.town", False),
    ]
    assert kinds(changed(scores=pa.field("scores", pa.list_(pa.int64())))) == [
        ("widened", "scores.element", False)
    ]


def test_a_required_column_turning_nullable_is_allowed():
    assert kinds(changed(id=pa.field("id", pa.int64()))) == [("nullability_relaxed", "id", False)]


def test_accepting_allowed_changes_makes_the_next_contract_version():
    incoming = changed(
        qty=pa.field("qty", pa.int64()), tier=pa.field("tier", pa.string(), nullable=False)
    )
    with pytest.raises(ValueError, match="required column tier added"):
        accept(CONTRACT, incoming)
    incoming = changed(qty=pa.field("qty", pa.int64()), tier=pa.field("tier", pa.string()))
    v2 = accept(CONTRACT, incoming)
    assert v2.version == 2 and classify(v2, incoming).changes == ()
    assert classify(v2, BASE).blocked  # tier gone again and qty narrowed back
    assert accept(v2, incoming) is v2


def test_the_contract_and_the_verdict_serialise():
    restored = SchemaContract.from_json(CONTRACT.to_json())
    assert restored == CONTRACT
    details = classify(CONTRACT, changed(email=None)).as_dict()
    assert json.loads(json.dumps(details)) == {
        "table": "raw.t",
        "contract_version": 1,
        "blocked": True,
        "changes": [{"kind": "removed", "column": "email", "old_type": "string", "breaking": True}],
    }


def test_airbyte_drift_on_the_users_stream():
    """The acceptance's drift: a column added (accepted, recorded), then one dropped (blocked),
    then the contract updated by its owner: the batch that was blocked now passes."""
    declared = STREAMS_BY_NAME["users"].schema
    contract = SchemaContract.from_arrow("raw.faker_users", declared)
    airbyte = pa.schema([f.with_nullable(True) for f in declared])  # Airbyte sends all nullable

    added = airbyte.append(pa.field("loyalty_tier", pa.string()))
    first = classify(contract, added)
    assert not first.blocked
    assert [c.describe() for c in first.changes if c.kind == "added"] == [
        "column loyalty_tier added (string)"
    ]
    contract = accept(contract, added)
    assert contract.version == 2 and not classify(contract, added).changes

    dropped = added.remove(added.get_field_index("telephone"))
    second = classify(contract, dropped)
    assert second.blocked
    assert second.reason() == (
        "raw.faker_users breaks schema contract v2: column telephone removed (was string)"
    )

    updated = SchemaContract.from_arrow("raw.faker_users", dropped, version=3)
    assert not classify(updated, dropped).blocked
