"""lakehouse/governance/ is library: it may use settings, the catalog, the Iceberg library and
spark/'s declarations, never a layer, the upkeep jobs, the CLI or the assembled definitions."""

from __future__ import annotations

import ast
from pathlib import Path

import lakehouse.governance

PACKAGE = Path(lakehouse.governance.__file__).parent
FORBIDDEN = tuple(
    f"lakehouse.{name}"
    for name in (
        "raw",
        "staging",
        "analytics",
        "ml",
        "upkeep",
        "cli",
        "definitions",
        "automation",
        "resources",
    )
)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_governance_imports_no_layer_nor_upkeep():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    wrong = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in files
        for name in _imports(path)
        if any(name == module or name.startswith(f"{module}.") for module in FORBIDDEN)
    }
    assert wrong == set()
