"""Upkeep fixtures: catalogs on SQLite and PostgreSQL, and small tables to maintain."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pyiceberg.catalog import Catalog
from upkeep_tables import Appender, appender

from lakehouse.catalog import catalog_properties
from lakehouse.settings import Settings
from lakehouse.upkeep.storage import Storage

# tests/deploy's helpers build the K8sRunLauncher Job offline; tests/governance's validate
# OpenLineage events against the published schema: plain modules there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "governance"))


@pytest.fixture
def storage(settings: Settings) -> Storage:
    return Storage(catalog_properties(settings))


@pytest.fixture
def append(catalog: Catalog) -> Appender:
    """Append a batch through the project's own write (one commit, one snapshot)."""
    return appender(catalog)
