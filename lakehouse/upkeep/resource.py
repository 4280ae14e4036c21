"""The Dagster resource upkeep jobs use: settings, catalog, storage and the tables to visit."""

# No `from __future__ import annotations`: Dagster reads the resource fields' annotations
# (`dg.ResourceDependency[Settings]`) as objects.

import dagster as dg
from pyiceberg.catalog import Catalog

from lakehouse.catalog import catalog_properties, shared_catalog
from lakehouse.governance.audit import AuditStore, audit_store
from lakehouse.settings import Settings
from lakehouse.upkeep.rules import TableRules, rules_for
from lakehouse.upkeep.storage import Storage


class UpkeepResource(dg.ConfigurableResource):
    """Gives upkeep assets the configured catalog and file storage (warehouse and backups)."""

    settings: dg.ResourceDependency[Settings]

    def catalog(self) -> Catalog:
        return shared_catalog(self.settings)

    def storage(self) -> Storage:
        return Storage(catalog_properties(self.settings))

    def audit_store(self) -> AuditStore:
        """The audit trail, as the code location writes it (close it when done)."""
        return audit_store(self.settings)

    def rules(self, identifier: tuple[str, ...]) -> TableRules:
        return rules_for(self.settings, identifier)

    def tables(self) -> list[tuple[str, ...]]:
        """Every table but the restore check's scratch copies, sorted."""
        catalog, scratch = self.catalog(), self.settings.upkeep_restore_namespace
        return sorted(
            tuple(identifier)
            for namespace in catalog.list_namespaces()
            if ".".join(namespace) != scratch
            for identifier in catalog.list_tables(namespace)
        )
