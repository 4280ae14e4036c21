"""The deploy/ validators in one import, for the tests and their mutation tests.

Split by responsibility: ``k8s_manifests`` (paths, rendering, tools), ``k8s_schema`` (API
schemas and custom resource specs), ``k8s_security`` (container and namespace policy).
"""

from __future__ import annotations

from k8s_manifests import (
    DEPLOY,
    ENVIRONMENTS,
    KUBERNETES_VERSION,
    OVERLAYS,
    REPO_ROOT,
    Doc,
    ident,
    kustomize,
    load_documents,
    require_tool,
)
from k8s_schema import CUSTOM_RESOURCES, schema_problems
from k8s_security import (
    container_problems,
    namespace_problems,
    pod_specs,
    policy_problems,
)

__all__ = [
    "CUSTOM_RESOURCES",
    "DEPLOY",
    "ENVIRONMENTS",
    "KUBERNETES_VERSION",
    "OVERLAYS",
    "REPO_ROOT",
    "Doc",
    "container_problems",
    "ident",
    "kustomize",
    "load_documents",
    "namespace_problems",
    "pod_specs",
    "policy_problems",
    "require_tool",
    "schema_problems",
]
