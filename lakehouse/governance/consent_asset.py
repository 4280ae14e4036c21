"""``governance/consents`` (seed §5.2): consent decisions fed like a raw table, from JSON Lines
files dropped in the consent inbox (by the consent-management tool, or by hand)."""

# No `from __future__ import annotations`: Dagster inspects the parameter annotations itself.
import dagster as dg
import pyarrow as pa

from lakehouse.catalog import IcebergCatalogResource
from lakehouse.governance.consents import IDENTIFIER, inbox_decisions, read_consents
from lakehouse.governance.files import Location

CONSENTS = dg.AssetKey(list(IDENTIFIER))


@dg.asset(
    key=CONSENTS,
    group_name="governance",
    kinds={"iceberg"},
    owners=["team:governance"],
    tags={
        "layer": "governance",
        "domain": "customers",
        "classification": "confidential",
        "pii": "true",
    },
    metadata={"write_mode": "append"},
    description="Each consent decision (subject, purpose, granted or withdrawn, when, from which "
    "inbox file and line), appended once; the ml features leave out subjects whose latest "
    "decision for profiling is a withdrawal.",
)
def consents(context: dg.AssetExecutionContext, catalog: IcebergCatalogResource) -> pa.Table:
    settings = catalog.settings
    inbox = Location(settings.consent_inbox, catalog.get_catalog().properties)
    ingested = read_consents(catalog.get_catalog())["source"].drop_null().unique().to_pylist()
    rows = inbox_decisions(inbox, ingested)
    context.add_output_metadata({"dagster/row_count": rows.num_rows, "inbox": inbox.root})
    return rows
