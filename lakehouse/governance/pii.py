"""Which tables hold personal data, by whose id, as the tables' own properties say.

The properties are the ones erasure sets and reads (``lakehouse.pii``,
``lakehouse.subject-column``); GDPR export finds a data subject by the same keys.
"""

from __future__ import annotations

import hashlib

from pyiceberg.catalog import Catalog
from pyiceberg.expressions import EqualTo
from pyiceberg.table import Table
from pyiceberg.types import IntegerType, LongType

PII_PROPERTY = "lakehouse.pii"
SUBJECT_COLUMN_PROPERTY = "lakehouse.subject-column"


class PiiTagError(ValueError):
    """A table is tagged PII but does not say which column holds the subject's id."""


def subject_hash(subject: str) -> str:
    """How audit rows name a data subject: never in clear."""
    return hashlib.sha256(subject.encode()).hexdigest()


def find_pii_tables(catalog: Catalog) -> dict[tuple[str, ...], str]:
    """Every table whose properties mark it PII, with its subject column."""
    found: dict[tuple[str, ...], str] = {}
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            properties = catalog.load_table(identifier).properties
            if properties.get(PII_PROPERTY, "").lower() == "true":
                found[tuple(identifier)] = properties.get(SUBJECT_COLUMN_PROPERTY, "")
    if missing := sorted(".".join(i) for i, column in found.items() if not column):
        raise PiiTagError(f"PII tables without {SUBJECT_COLUMN_PROPERTY}: {', '.join(missing)}")
    return found


def subject_filter(table: Table, column: str, subject: str) -> EqualTo:
    """``column == subject`` with the subject typed as the column (ids are often integers)."""
    field_type = table.schema().find_field(column).field_type
    if isinstance(field_type, IntegerType | LongType):
        try:
            return EqualTo(column, int(subject))
        except ValueError:
            raise ValueError(
                f"{'.'.join(table.name())}.{column} holds integer ids; subject {subject!r} is not one"
            ) from None
    return EqualTo(column, subject)
