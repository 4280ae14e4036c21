"""Validators for the deploy/ manifests, shared by the tests and their mutation tests.

Each check returns a list of problems (empty when the object is fine), so a test can assert
both that the real manifests pass and that a broken copy is caught.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import yaml

# kubernetes-validate re-reads its multi-megabyte definitions file for every object; reading
# each schema file once keeps validating a few hundred objects under a few seconds.
if not hasattr(kubernetes_validate.utils.schema_contents, "cache_info"):
    kubernetes_validate.utils.schema_contents = functools.cache(
        kubernetes_validate.utils.schema_contents
    )

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
OVERLAYS = DEPLOY / "kustomize" / "overlays"
ENVIRONMENTS = ("dev", "staging", "prod")
KUBERNETES_VERSION = "1.32.0"  # the platform's version; kubectl on the machines is 1.32 too

Doc = dict[str, Any]


def require_tool(name: str) -> str:
    """The tool's path; skipped when missing, except on CI (CI=true), where it fails."""
    import pytest

    path = shutil.which(name)
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
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise FileNotFoundError("kubectl")
    out = subprocess.run(
        [kubectl, "kustomize", str(overlay)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def ident(doc: Doc) -> str:
    meta = doc.get("metadata", {})
    return f"{doc.get('kind')}/{meta.get('namespace', '-')}/{meta.get('name')}"


# ---- schema validation: kubernetes-validate for built-in kinds, specs for custom ones ----


def _get(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d+)?s)?$")
CRON = re.compile(r"^(\S+\s+){4}\S+$")

Check = Callable[[Any], bool]


def _nonempty_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0


def _is(kind: type | tuple[type, ...]) -> Check:
    return lambda value: isinstance(value, kind) and value != ""


def _one_of(*choices: str) -> Check:
    return lambda value: value in choices


# kind -> (apiVersion, [(path, check, what it must be)]): the fields each controller needs.
CUSTOM_RESOURCES: dict[str, tuple[str, list[tuple[str, Check, str]]]] = {
    "SparkApplication": (
        "sparkoperator.k8s.io/v1beta2",
        [
            ("spec.type", _one_of("Java", "Scala", "Python", "R"), "Java|Scala|Python|R"),
            ("spec.mode", _one_of("cluster", "client"), "cluster|client"),
            ("spec.sparkVersion", _is(str), "a version string"),
            ("spec.image", _is(str), "an image"),
            ("spec.mainApplicationFile", _is(str), "the entry point"),
            (
                "spec.restartPolicy.type",
                _one_of("Never", "OnFailure", "Always"),
                "a restart policy",
            ),
            ("spec.driver.cores", _is(int), "an integer"),
            ("spec.driver.coreLimit", _is(str), "a CPU limit"),
            ("spec.driver.memory", _is(str), "a memory size"),
            ("spec.driver.serviceAccount", _is(str), "a service account"),
            ("spec.executor.cores", _is(int), "an integer"),
            ("spec.executor.coreLimit", _is(str), "a CPU limit"),
            ("spec.executor.memory", _is(str), "a memory size"),
            ("spec.executor.instances", _is(int), "an integer"),
            ("spec.sparkConf", _is(dict), "a map of strings"),
        ],
    ),
    "ServiceMonitor": (
        "monitoring.coreos.com/v1",
        [
            ("spec.selector", _is(dict), "a label selector"),
            ("spec.endpoints", _nonempty_list, "a non-empty list"),
        ],
    ),
    "PrometheusRule": (
        "monitoring.coreos.com/v1",
        [
            ("spec.groups", _nonempty_list, "a non-empty list"),
        ],
    ),
    "Schedule": (
        "velero.io/v1",
        [
            ("spec.schedule", lambda v: isinstance(v, str) and bool(CRON.match(v)), "a cron line"),
            (
                "spec.template.ttl",
                lambda v: isinstance(v, str) and bool(DURATION.match(v)),
                "a duration",
            ),
            ("spec.template.includedNamespaces", _nonempty_list, "a non-empty list"),
        ],
    ),
    "Application": (
        "argoproj.io/v1alpha1",
        [
            ("spec.project", _is(str), "a project"),
            ("spec.destination.namespace", _is(str), "a namespace"),
            ("spec.syncPolicy", _is(dict), "a sync policy"),
        ],
    ),
    "AppProject": (
        "argoproj.io/v1alpha1",
        [
            ("spec.sourceRepos", _nonempty_list, "a non-empty list"),
            ("spec.destinations", _nonempty_list, "a non-empty list"),
        ],
    ),
}


def _custom_problems(doc: Doc) -> list[str]:
    api_version, fields = CUSTOM_RESOURCES[doc["kind"]]
    problems = []
    if doc.get("apiVersion") != api_version:
        problems.append(f"apiVersion must be {api_version}")
    if not _get(doc, "metadata.name"):
        problems.append("metadata.name is required")
    for path, check, what in fields:
        if not check(_get(doc, path)):
            problems.append(f"{path} must be {what}")
    kind = doc["kind"]
    if kind == "SparkApplication":
        problems += [
            f"spec.sparkConf.{k} must be a string"
            for k, v in (_get(doc, "spec.sparkConf") or {}).items()
            if not isinstance(v, str)
        ]
    if kind == "ServiceMonitor":
        for i, endpoint in enumerate(_get(doc, "spec.endpoints") or []):
            if not (endpoint.get("port") or endpoint.get("targetPort")):
                problems.append(f"spec.endpoints[{i}] needs a port")
    if kind == "PrometheusRule":
        problems += _rule_problems(_get(doc, "spec.groups") or [])
    if kind == "Application":
        sources = _get(doc, "spec.sources") or [_get(doc, "spec.source")]
        if not (_get(doc, "spec.destination.server") or _get(doc, "spec.destination.name")):
            problems.append("spec.destination needs a server or a name")
        for i, source in enumerate(sources):
            if not isinstance(source, dict) or not source.get("repoURL"):
                problems.append(f"source {i} needs a repoURL")
            elif not (source.get("path") or source.get("chart") or source.get("ref")):
                problems.append(f"source {i} needs a path, a chart or a ref")
            elif not source.get("targetRevision"):
                problems.append(f"source {i} needs a pinned targetRevision")
    return problems


def _rule_problems(groups: list[Any]) -> list[str]:
    problems = []
    for group in groups:
        if not group.get("name") or not _nonempty_list(group.get("rules")):
            problems.append("each rule group needs a name and rules")
            continue
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            if not name or not rule.get("expr"):
                problems.append(f"rule {name!r} needs alert|record and expr")
            if rule.get("for") and not DURATION.match(str(rule["for"])):
                problems.append(f"rule {name!r}: bad duration {rule['for']!r}")
            if rule.get("alert") and not (
                rule.get("labels", {}).get("severity")
                and rule.get("annotations", {}).get("summary")
            ):
                problems.append(f"alert {name!r} needs labels.severity and annotations.summary")
    return problems


def schema_problems(doc: Doc, version: str = KUBERNETES_VERSION) -> list[str]:
    """Built-in kinds: kubernetes-validate --strict; custom resources: the specs above."""
    if doc.get("kind") in CUSTOM_RESOURCES:
        return _custom_problems(doc)
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {doc.get('apiVersion')} {doc.get('kind')}: add a spec"]
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(str(p) for p in error.path) or '<root>'}: {error.message}"]
    return []


# ---- security policy: every container ----

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
