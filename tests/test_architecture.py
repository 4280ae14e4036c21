"""The house's shape, enforced: the import contracts of pyproject.toml ([tool.importlinter]) hold
on every module of lakehouse/ and spark/, deferred imports included, and each contract breaks
when a module steps out of line. Settings are read at the edge only."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """import-linter on the packages under ``root`` (only ``contracts`` if given), no cache."""
    arguments = [str(LINT_IMPORTS), "--no-cache", *(f"--contract={c}" for c in contracts)]
    return subprocess.run(arguments, cwd=root, capture_output=True, text=True, check=False)


def test_every_import_contract_holds() -> None:
    done = _lint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout and " kept" in done.stdout


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages and their contracts in a scratch directory, to break on purpose."""
    root = tmp_path_factory.mktemp("house")
    for package in ("lakehouse", "spark"):
        shutil.copytree(
            REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def _probe(statement: str) -> str:
    return f"def probe():\n    {statement}\n"


# (modules to add, each importing inside a function; the contract that must break)
VIOLATIONS = [
    ({"lakehouse/raw/probe.py": "from lakehouse.staging import tables"}, "data-flows-one-way"),
    ({"lakehouse/analytics/probe.py": "import lakehouse.ml.features"}, "data-flows-one-way"),
    ({"lakehouse/iceberg/probe.py": "from lakehouse.raw import streams"}, "library"),
    ({"lakehouse/wap/probe.py": "from lakehouse.upkeep import rules"}, "library"),
    ({"lakehouse/iceberg/probe.py": "import dagster"}, "iceberg-without-dagster"),
    ({"lakehouse/staging/probe.py": "from lakehouse import definitions"}, "floors"),
    ({"lakehouse/upkeep/probe.py": "import lakehouse.cli.main"}, "floors"),
    ({"spark/probe.py": "from lakehouse.settings import load_settings"}, "spark-alone"),
    ({"spark/probe.py": "import dagster"}, "spark-alone"),
    ({"lakehouse/ml/probe.py": "import tests.conftest"}, "no-tests"),
    # compaction <- erasure already: the reverse import closes a cycle between two rooms
    (
        {"lakehouse/upkeep/compaction/probe.py": "import lakehouse.upkeep.erasure.erase"},
        "no-cycles",
    ),
    # Only the CLI imports loopback, which imports no layer; governance is a library like wap.
    (
        {
            "lakehouse/loopback/__init__.py": "",
            "lakehouse/raw/probe.py": "import lakehouse.loopback",
        },
        "floors",
    ),
    ({"lakehouse/loopback/__init__.py": "import lakehouse.staging"}, "loopback"),
    ({"lakehouse/governance/__init__.py": "import lakehouse.upkeep"}, "floors"),
    (
        {
            "lakehouse/governance/__init__.py": "",
            "lakehouse/governance/lineage.py": "import lakehouse.raw",
        },
        "library",
    ),
]


@pytest.mark.parametrize(("modules", "contract"), VIOLATIONS)
def test_a_deferred_import_out_of_line_breaks_its_contract(
    copy: Path, modules: dict[str, str], contract: str
) -> None:
    added = [copy / module for module in modules]
    created = sorted({path.parent for path in added if not path.parent.exists()})
    # A probe may replace a real module (a package's __init__): it is put back afterwards.
    originals = {path: path.read_text() for path in added if path.exists()}
    for path, statement in zip(added, modules.values(), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_probe(statement) if statement else "")
    try:
        done = _lint(copy, contract)
    finally:
        for path in added:
            if path in originals:
                path.write_text(originals[path])
            else:
                path.unlink()
        for directory in created:
            shutil.rmtree(directory)
    assert done.returncode == 1 and "BROKEN" in done.stdout, done.stdout + done.stderr


# Where the process's settings may be read: the edges (the code location's assembly, the
# operator command, scripts, the notebook helper) and the dbt process's own edge. Everything
# else is handed a typed Settings.
SETTINGS_READERS = {"get_settings", "settings_for", "load_settings"}
EDGES = {
    "lakehouse/settings.py",
    "lakehouse/definitions.py",
    "lakehouse/catalog.py",  # get_catalog(), for notebooks and scripts
    "lakehouse/engine_conf.py",  # python -m lakehouse.engine_conf
    "lakehouse/analytics/prepare.py",  # python -m lakehouse.analytics.prepare
    "lakehouse/analytics/duckdb_plugin.py",  # runs inside the dbt process
    "lakehouse/analytics/dbt_entry.py",  # lakehouse-dbt: the dbt process's entry point
}


def test_settings_are_read_at_the_edge_only() -> None:
    readers = set()
    for path in sorted((REPO / "lakehouse").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative in EDGES or relative.startswith("lakehouse/cli/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                {alias.name for alias in node.names} if isinstance(node, ast.ImportFrom) else set()
            )
            if isinstance(node, ast.Attribute):  # lakehouse.settings.get_settings()
                names = {node.attr}
            if names & SETTINGS_READERS:
                readers.add(relative)
    assert readers == set()
