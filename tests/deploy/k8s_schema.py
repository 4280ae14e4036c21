"""Schema validation: kubernetes-validate for built-in kinds, field specs for custom resources.

Each check returns a list of problems (empty when the object is fine), so a test can assert
both that the real manifests pass and that a broken copy is caught.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
from k8s_manifests import KUBERNETES_VERSION, Doc
from k8s_manifests import get_path as _get

# kubernetes-validate re-reads its multi-megabyte definitions file for every object; reading
# each schema file once keeps validating a few hundred objects under a few seconds.
if not hasattr(kubernetes_validate.utils.schema_contents, "cache_info"):
    kubernetes_validate.utils.schema_contents = functools.cache(
        kubernetes_validate.utils.schema_contents
    )

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
    "Certificate": (
        "cert-manager.io/v1",
        [
            ("spec.secretName", _is(str), "the Secret cert-manager writes"),
            ("spec.issuerRef.name", _is(str), "an issuer"),
            ("spec.issuerRef.kind", _one_of("Issuer", "ClusterIssuer"), "Issuer|ClusterIssuer"),
            ("spec.dnsNames", _nonempty_list, "a non-empty list"),
        ],
    ),
    "Bundle": (
        "trust.cert-manager.io/v1alpha1",
        [
            ("spec.sources", _nonempty_list, "a non-empty list"),
            ("spec.target.configMap.key", _is(str), "the ConfigMap key to write"),
        ],
    ),
    "ExternalSecret": (
        "external-secrets.io/v1",
        [
            ("spec.secretStoreRef.name", _is(str), "a secret store"),
            (
                "spec.secretStoreRef.kind",
                _one_of("SecretStore", "ClusterSecretStore"),
                "a store kind",
            ),
            (
                "spec.refreshInterval",
                lambda v: isinstance(v, str) and bool(DURATION.match(v)),
                "a duration",
            ),
            ("spec.target.name", _is(str), "the Secret to write"),
            ("spec.data", _nonempty_list, "a non-empty list"),
        ],
    ),
    "ClusterSecretStore": (
        "external-secrets.io/v1",
        [
            ("spec.provider.vault.server", _is(str), "the Vault address"),
            ("spec.provider.vault.auth.kubernetes.role", _is(str), "a Vault Kubernetes-auth role"),
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
    if kind == "Certificate":
        problems += [
            f"spec.additionalOutputFormats: unknown type {f.get('type')!r}"
            for f in _get(doc, "spec.additionalOutputFormats") or []
            if f.get("type") not in ("CombinedPEM", "DER")
        ]
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
