"""Schema contracts for raw tables, and a pure classifier of an incoming schema against one.

A contract is an Iceberg schema with a version. An incoming batch (Airbyte's schema drift
included) is compared column by column, nested fields too: an added nullable column, a type
widening (Iceberg's promotions) or a required column turning nullable are allowed and recorded;
a removed column, a narrowing, any other type change, a rename or a new required column is
breaking, and the batch waits in quarantine until the contract is updated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
from pyiceberg.schema import Schema, assign_fresh_schema_ids
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StructType,
)

from lakehouse.iceberg.schema import batch_schema

Kind = Literal[
    "added",
    "widened",
    "nullability_relaxed",
    "added_required",
    "removed",
    "renamed",
    "narrowed",
    "type_changed",
]
ALLOWED: frozenset[str] = frozenset({"added", "widened", "nullability_relaxed"})


@dataclass(frozen=True)
class SchemaChange:
    """One difference; ``column`` is a dotted path (``address.city``, ``tags.element``)."""

    kind: Kind
    column: str
    old_type: str | None = None
    new_type: str | None = None
    new_column: str | None = None  # a rename's new name

    @property
    def breaking(self) -> bool:
        return self.kind not in ALLOWED

    def describe(self) -> str:
        if self.kind == "renamed":
            return f"{self.column} renamed to {self.new_column} ({self.old_type})"
        if self.kind in ("added", "added_required"):
            required = "required " if self.kind == "added_required" else ""
            return f"{required}column {self.column} added ({self.new_type})"
        if self.kind == "removed":
            return f"column {self.column} removed (was {self.old_type})"
        if self.kind == "nullability_relaxed":
            return f"column {self.column} became nullable"
        return f"column {self.column} {self.kind.replace('_', ' ')}: {self.old_type} -> {self.new_type}"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None} | {
            "breaking": self.breaking
        }


@dataclass(frozen=True)
class SchemaContract:
    """The declared schema of one table, versioned so updates are traceable."""

    table: str
    schema: Schema
    version: int = 1

    @classmethod
    def from_arrow(cls, table: str, schema: pa.Schema, version: int = 1) -> SchemaContract:
        return cls(table, batch_schema(schema), version)

    def to_json(self) -> str:
        """Table, version and the Iceberg schema (a table property or a file)."""
        schema = json.loads(self.schema.model_dump_json())
        return json.dumps(
            {"table": self.table, "version": self.version, "schema": schema}, sort_keys=True
        )

    @classmethod
    def from_json(cls, text: str) -> SchemaContract:
        data = json.loads(text)
        return cls(data["table"], Schema.model_validate(data["schema"]), int(data["version"]))


@dataclass(frozen=True)
class SchemaChanges:
    """The classifier's verdict for one batch: every change, and whether it may be published."""

    table: str
    contract_version: int
    changes: tuple[SchemaChange, ...] = field(default_factory=tuple)

    @property
    def breaking(self) -> tuple[SchemaChange, ...]:
        return tuple(c for c in self.changes if c.breaking)

    @property
    def allowed(self) -> tuple[SchemaChange, ...]:
        return tuple(c for c in self.changes if not c.breaking)

    @property
    def blocked(self) -> bool:
        return bool(self.breaking)

    def reason(self) -> str:
        """One line for the quarantine and the run log."""
        if not self.changes:
            return f"{self.table}: matches schema contract v{self.contract_version}"
        verdict = "breaks" if self.blocked else "evolves"
        listed = "; ".join(c.describe() for c in (self.breaking or self.allowed))
        return f"{self.table} {verdict} schema contract v{self.contract_version}: {listed}"

    def as_dict(self) -> dict[str, Any]:
        """For the audit trail's details and the asset's metadata."""
        return {
            "table": self.table,
            "contract_version": self.contract_version,
            "blocked": self.blocked,
            "changes": [c.as_dict() for c in self.changes],
        }


# Iceberg's type promotions (spec, "Schema Evolution"): what a reader of old files can widen to.
def _widens(old: IcebergType, new: IcebergType) -> bool:
    if isinstance(old, IntegerType) and isinstance(new, LongType):
        return True
    if isinstance(old, FloatType) and isinstance(new, DoubleType):
        return True
    return (
        isinstance(old, DecimalType)
        and isinstance(new, DecimalType)
        and new.scale == old.scale
        and new.precision > old.precision
    )


def _kind(field_type: IcebergType) -> str:
    return "primitive" if field_type.is_primitive else type(field_type).__name__


def _compare_types(path: str, old: IcebergType, new: IcebergType) -> list[SchemaChange]:
    if old == new:
        return []
    if isinstance(old, StructType) and isinstance(new, StructType):
        return _compare_fields(f"{path}.", old.fields, new.fields)
    if isinstance(old, ListType) and isinstance(new, ListType):
        return _compare_field(f"{path}.element", old.element_field, new.element_field)
    if isinstance(old, MapType) and isinstance(new, MapType):
        return _compare_field(f"{path}.key", old.key_field, new.key_field) + _compare_field(
            f"{path}.value", old.value_field, new.value_field
        )
    if _kind(old) == _kind(new) == "primitive":
        if _widens(old, new):
            return [SchemaChange("widened", path, str(old), str(new))]
        kind: Kind = "narrowed" if _widens(new, old) else "type_changed"
        return [SchemaChange(kind, path, str(old), str(new))]
    return [SchemaChange("type_changed", path, str(old), str(new))]


def _compare_field(path: str, old: NestedField, new: NestedField) -> list[SchemaChange]:
    changes = _compare_types(path, old.field_type, new.field_type)
    if old.required and new.optional:
        changes.append(SchemaChange("nullability_relaxed", path, str(old.field_type)))
    return changes


def _renames(
    removed: list[NestedField], added: list[NestedField]
) -> list[tuple[NestedField, NestedField]]:
    """A removed and an added column of the same type, when no other column shares it."""
    pairs = []
    for old in removed:
        same_removed = [f for f in removed if f.field_type == old.field_type]
        same_added = [f for f in added if f.field_type == old.field_type]
        if len(same_removed) == 1 and len(same_added) == 1:
            pairs.append((old, same_added[0]))
    return pairs


def _compare_fields(
    prefix: str, contract: Sequence[NestedField], incoming: Sequence[NestedField]
) -> list[SchemaChange]:
    by_name = {f.name: f for f in incoming}
    declared = {f.name for f in contract}
    removed = [f for f in contract if f.name not in by_name]
    added = [f for f in incoming if f.name not in declared]
    changes: list[SchemaChange] = []
    for old, new in _renames(removed, added):
        changes.append(
            SchemaChange("renamed", f"{prefix}{old.name}", str(old.field_type), None, new.name)
        )
        removed.remove(old)
        added.remove(new)
    for old in contract:
        if old.name in by_name:
            changes += _compare_field(f"{prefix}{old.name}", old, by_name[old.name])
    changes += [SchemaChange("removed", f"{prefix}{f.name}", str(f.field_type)) for f in removed]
    for new in added:
        kind: Kind = "added_required" if new.required else "added"
        changes.append(SchemaChange(kind, f"{prefix}{new.name}", None, str(new.field_type)))
    return changes


def classify(contract: SchemaContract, incoming: pa.Schema | Schema) -> SchemaChanges:
    """Every difference between the contract and an incoming batch schema (Arrow or Iceberg)."""
    schema = incoming if isinstance(incoming, Schema) else batch_schema(incoming)
    changes = _compare_fields("", contract.schema.fields, schema.fields)
    return SchemaChanges(contract.table, contract.version, tuple(changes))


def _merged_type(old: IcebergType, new: IcebergType) -> IcebergType:
    if isinstance(old, StructType) and isinstance(new, StructType):
        return StructType(*_merge(old.fields, new.fields))
    if isinstance(old, ListType) and isinstance(new, ListType):
        return ListType(
            old.element_id,
            _merged_type(old.element_type, new.element_type),
            old.element_required and new.element_required,
        )
    if isinstance(old, MapType) and isinstance(new, MapType):
        return MapType(
            old.key_id,
            old.key_type,
            old.value_id,
            _merged_type(old.value_type, new.value_type),
            old.value_required and new.value_required,
        )
    return new if _widens(old, new) else old


def _merge(contract: Sequence[NestedField], incoming: Sequence[NestedField]) -> list[NestedField]:
    by_name = {f.name: f for f in incoming}
    merged = [
        NestedField(
            old.field_id,
            old.name,
            _merged_type(old.field_type, by_name[old.name].field_type),
            required=old.required and by_name[old.name].required,
            doc=old.doc,
        )
        for old in contract
    ]
    declared = {f.name for f in contract}
    added = [
        NestedField(f.field_id, f.name, f.field_type, required=False, doc=f.doc)
        for f in incoming
        if f.name not in declared
    ]
    return merged + added


def accept(contract: SchemaContract, incoming: pa.Schema | Schema) -> SchemaContract:
    """The next contract version carrying the allowed changes (added columns, widenings,
    relaxed nullability), so the next batch is compared with what the table now holds.
    Refuses a breaking change: that takes a person updating the declared contract."""
    changes = classify(contract, incoming)
    if changes.blocked:
        raise ValueError(changes.reason())
    if not changes.changes:
        return contract
    schema = incoming if isinstance(incoming, Schema) else batch_schema(incoming)
    merged = Schema(*_merge(contract.schema.fields, schema.fields))
    return SchemaContract(contract.table, assign_fresh_schema_ids(merged), contract.version + 1)
