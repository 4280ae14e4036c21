"""Security policy: hardened, sized containers and closed, bounded namespaces."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from k8s_manifests import Doc
from k8s_manifests import get_path as _get

POD_TEMPLATE_PATHS = {
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
    "Pod": "spec",
}


def pod_specs(doc: Doc) -> Iterator[tuple[Doc, list[Doc]]]:
    """(pod-level security context, containers) for each pod the object starts."""
    kind = doc.get("kind")
    if kind in POD_TEMPLATE_PATHS:
        spec = _get(doc, POD_TEMPLATE_PATHS[kind]) or {}
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        yield spec.get("securityContext") or {}, containers
    elif kind == "SparkApplication":
        for role in ("driver", "executor"):
            part = _get(doc, f"spec.{role}") or {}
            yield (
                part.get("podSecurityContext") or {},
                [
                    {
                        "name": f"spark-{role}",
                        "securityContext": part.get("securityContext"),
                        # The operator turns cores/coreLimit/memory into requests and limits.
                        "resources": {
                            "requests": {"cpu": part.get("cores"), "memory": part.get("memory")},
                            "limits": {"cpu": part.get("coreLimit"), "memory": part.get("memory")},
                        },
                    }
                ],
            )


def container_problems(pod_security: Doc, container: Doc) -> list[str]:
    name = container.get("name", "?")
    sc = container.get("securityContext") or {}
    resources = container.get("resources") or {}
    problems = [
        f"{name}: resources.{kind}.{res} missing"
        for kind in ("requests", "limits")
        for res in ("cpu", "memory")
        if not (resources.get(kind) or {}).get(res)
    ]
    if not (sc.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
        problems.append(f"{name}: runAsNonRoot is not set")
    if sc.get("runAsUser") == 0 or pod_security.get("runAsUser") == 0:
        problems.append(f"{name}: runs as root (uid 0)")
    if sc.get("privileged"):
        problems.append(f"{name}: privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{name}: allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{name}: readOnlyRootFilesystem must be true")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problems.append(f"{name}: capabilities must drop ALL")
    if (sc.get("capabilities") or {}).get("add"):
        problems.append(f"{name}: adds capabilities")
    return problems


def policy_problems(doc: Doc) -> list[str]:
    return [
        p
        for pod, containers in pod_specs(doc)
        for c in containers
        for p in container_problems(pod, c)
    ]


def namespace_problems(docs: Iterable[Doc]) -> dict[str, list[str]]:
    """Namespace -> what it lacks: quota, limit range, default-deny, Pod Security labels."""
    docs = list(docs)
    found: dict[str, set[str]] = {}
    for doc in docs:
        ns = _get(doc, "metadata.namespace")
        kind = doc.get("kind")
        if kind == "NetworkPolicy" and _is_default_deny(doc):
            found.setdefault(ns, set()).add("default-deny")
        elif kind in ("ResourceQuota", "LimitRange"):
            found.setdefault(ns, set()).add(kind)
    result = {}
    for doc in docs:
        if doc.get("kind") != "Namespace":
            continue
        name = doc["metadata"]["name"]
        labels = doc["metadata"].get("labels") or {}
        missing = [
            f"no {need}"
            for need in ("ResourceQuota", "LimitRange", "default-deny")
            if need not in found.get(name, set())
        ]
        if labels.get("pod-security.kubernetes.io/enforce") not in (
            "restricted",
            "baseline",
            "privileged",
        ):
            missing.append("no pod-security.kubernetes.io/enforce label")
        result[name] = missing
    return result


def _is_default_deny(doc: Doc) -> bool:
    spec = doc.get("spec") or {}
    return (
        spec.get("podSelector") in ({}, None)
        and set(spec.get("policyTypes") or []) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )
