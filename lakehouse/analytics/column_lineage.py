"""Column lineage of the dbt models, traced when the manifest is prepared, never at load.

Tracing needs compiled SQL, which ``dbt parse`` does not give: ``prepare`` compiles the project
for DuckDB once (no database is opened) and sqlglot traces each documented column
(``lakehouse.governance.lineage.dbt_columns``). The models are the same on Trino, so the DuckDB
trace serves both targets. The translator puts it on each model as ``dagster/column_lineage``;
the run sensors send it to the data catalog as OpenLineage's column lineage facet.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakehouse.governance.lineage.columns import ColumnLineage

LINEAGE_FILE = "column_lineage.json"
_COMPILE_DIR = "lineage-compile"  # under the target's directory


def write_column_lineage(dbt: str, project_dir: Path, target_dir: Path, env: dict) -> None:
    """Compile for DuckDB into ``target_dir``, trace, and write ``LINEAGE_FILE`` there."""
    from lakehouse.governance.lineage.dbt_columns import dbt_column_lineage

    compiled = target_dir / _COMPILE_DIR
    directory = str(project_dir)
    command = [dbt, "compile", "--project-dir", directory, "--profiles-dir", directory]
    command += ["--target", "duckdb", "--target-path", str(compiled)]
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed:\n{done.stdout}{done.stderr}")
    manifest = json.loads((compiled / "manifest.json").read_text())
    traced = dbt_column_lineage(manifest, project_dir)
    data = {
        table: {
            column: [[s.table, s.column, s.identity] for s in sources]
            for column, sources in columns.items()
        }
        for table, columns in traced.items()
    }
    (target_dir / LINEAGE_FILE).write_text(json.dumps(data, indent=1, sort_keys=True))


def load_column_lineage(target_dir: Path) -> dict[str, ColumnLineage]:
    """``analytics.<model>`` -> column -> its sources; empty when not prepared."""
    from lakehouse.governance.lineage.columns import ColumnSource

    path = target_dir / LINEAGE_FILE
    if not path.is_file():
        return {}
    return {
        table: {column: [ColumnSource(*s) for s in sources] for column, sources in columns.items()}
        for table, columns in json.loads(path.read_text()).items()
    }
