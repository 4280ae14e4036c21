"""The dbt project and its manifest, as the code location sees them: read, never parsed.

Parsing costs the code location tens of seconds (BENCHMARKS.md), so the manifest is built ahead
by ``python -m lakehouse.analytics.prepare`` (``make setup`` runs it); loading only reads it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

from dagster_dbt import DbtProject

from lakehouse.analytics.prepare import DBT_PROJECT_DIR, target_path

PREPARE_COMMAND = "python -m lakehouse.analytics.prepare"
Target = Literal["duckdb", "trino"]


class ManifestError(RuntimeError):
    """The dbt manifest is missing or was built for another target; the message says the fix."""


@functools.cache
def analytics_project(target: Target, project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    """One ``DbtProject`` per target and directory: profiles live beside the project."""
    return DbtProject(
        project_dir=project_dir,
        profiles_dir=project_dir,
        target=target,
        target_path=target_path(target),
    )


def load_manifest(project: DbtProject) -> dict[str, Any]:
    """The prepared manifest of ``project``, checked against its target."""
    path = project.manifest_path
    if not path.is_file():
        raise ManifestError(
            f"the dbt manifest {path} is missing; build it with `{PREPARE_COMMAND} "
            f"--target {project.target}` (`make setup` runs it). The code location reads the "
            "manifest and never parses dbt at load."
        )
    manifest = json.loads(path.read_text())
    built_for = manifest.get("metadata", {}).get("adapter_type")
    if built_for != project.target:
        raise ManifestError(
            f"the dbt manifest {path} was built for target '{built_for}' but the settings ask "
            f"for '{project.target}' (LAKEHOUSE_DBT_TARGET / LAKEHOUSE_RUNTIME); rebuild it with "
            f"`{PREPARE_COMMAND} --target {project.target}`"
        )
    return manifest
