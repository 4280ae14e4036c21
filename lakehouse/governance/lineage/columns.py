"""Column lineage as data, and its two renderings: OpenLineage's facet and Dagster's metadata.

A lineage maps each output column to the input (table, column) pairs its values come from; a
column computed from no input column (``count(*)``, a literal) maps to nothing but is listed,
so the coverage of a table's columns can be checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
from openlineage.client.facet_v2 import column_lineage_dataset

from lakehouse.governance.lineage.facets import dataset_name


@dataclass(frozen=True, order=True)
class ColumnSource:
    table: str  # namespace.table in the Iceberg catalog
    column: str
    identity: bool = False  # the value is copied unchanged (a rename at most)


ColumnLineage = Mapping[str, Sequence[ColumnSource]]


def column_lineage_facet(
    lineage: ColumnLineage, locate: Callable[[str], str], *, description: str | None = None
) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    """The facet, inputs named like their datasets (``locate`` gives a table's location)."""
    fields = {}
    for column, sources in lineage.items():
        inputs = []
        for source in sorted(set(sources)):
            namespace, name = dataset_name(locate(source.table))
            kind = "IDENTITY" if source.identity else "TRANSFORMATION"
            inputs.append(
                column_lineage_dataset.InputField(
                    namespace=namespace,
                    name=name,
                    field=source.column,
                    transformations=[
                        column_lineage_dataset.Transformation(type="DIRECT", subtype=kind)
                    ],
                )
            )
        fields[column] = column_lineage_dataset.Fields(
            inputFields=inputs, transformationDescription=description
        )
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)


def column_lineage_metadata(lineage: ColumnLineage) -> dg.TableColumnLineage:
    """``dagster/column_lineage`` for an asset: input tables are the assets keyed by their
    ``namespace/table`` (the project's asset keys)."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [
                dg.TableColumnDep(asset_key=dg.AssetKey(s.table.split(".")), column_name=s.column)
                for s in sorted(set(sources))
            ]
            for column, sources in lineage.items()
        }
    )
