"""lakehouse: a Dagster code location for an asset-based Apache Iceberg lakehouse.

Importing the package loads nothing heavy (``lakehouse.settings`` needs no Dagster);
``lakehouse.get_catalog()`` imports the catalog module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakehouse.catalog import get_catalog

__all__ = ["get_catalog"]


def __getattr__(name: str) -> Any:
    if name == "get_catalog":
        from lakehouse.catalog import get_catalog

        return get_catalog
    raise AttributeError(f"module 'lakehouse' has no attribute {name!r}")
