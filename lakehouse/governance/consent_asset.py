"""``governance/consents`` (seed §5.2): consent decisions fed like a raw table, from JSON Lines
files dropped in the consent inbox (by the consent-management tool, or by hand)."""

# No `from __future__ import annotations`: Dagster inspects the parameter annotations itself.
import dagster as dg
import pyarrow as pa

from lakehouse.catalog import IcebergCatalogResource
from lakehouse.governance.consents import IDENTIFIER, SCHEMA, inbox_decisions, read_consents
from lakehouse.governance.files import Location

CONSENTS = dg.AssetKey(list(IDENTIFIER))
SUBJECT = "subject"  # the data subject's id: personal data, masked for groups without pii


def consents_column_schema() -> dg.TableSchema:
    """The table's columns for the UI, the catalog and deploy/access (which masks ``pii``)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=str(field.type),
                constraints=dg.TableColumnConstraints(nullable=field.nullable),
                tags={"pii": "true", "classification": "confidential"}
                if field.name == SUBJECT
                else {"pii": "false"},
            )
            for field in SCHEMA
        ]
    )


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
    metadata={"write_mode": "append", "dagster/column_schema": consents_column_schema()},
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
