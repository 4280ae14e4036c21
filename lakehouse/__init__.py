"""lakehouse: a Dagster code location for an asset-based Apache Iceberg lakehouse."""

from lakehouse.catalog import get_catalog

__all__ = ["get_catalog"]
