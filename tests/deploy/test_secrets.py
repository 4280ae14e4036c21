"""Secrets from a vault: every Secret the platform reads has an ExternalSecret (Vault backend),
with the keys it is read by; cert-manager writes the TLS ones; none is created by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from deploy_checks import DEPLOY, ident

HELM = DEPLOY / "helm"
README = (DEPLOY / "README.md").read_text()


def _refs(node: Any, namespace: str) -> Iterator[tuple[str, str, str | None]]:
    """(namespace, Secret, key or None) for each Secret reference in a manifest or values tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "secretKeyRef":
                yield namespace, value["name"], value["key"]
            elif key == "secretRef" or (key == "secret" and "secretName" in (value or {})):
                yield namespace, value.get("name") or value["secretName"], None
            elif key in ("envSecrets",) and isinstance(value, list):
                yield from ((namespace, item["name"], None) for item in value)
            elif key in ("existingSecret", "postgresqlSecretName", "secretName") and isinstance(
                value, str
            ):
                yield namespace, value, None
            elif (
                key == "secrets"
                and isinstance(value, list)
                and all(isinstance(v, str) for v in value)
            ):
                yield from ((namespace, name, None) for name in value)
            else:
                yield from _refs(value, namespace)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item, namespace)


# Helm releases and their namespaces (deploy/argocd, the README's prerequisites).
RELEASES = {
    "dagster-values.yaml": "data-platform-core",
    "oauth2-proxy-values.yaml": "data-platform-core",
    "oauth2-proxy-dagster-read-only-values.yaml": "data-platform-core",
    "trino-values.yaml": "data-platform-processing",
    "airbyte-values.yaml": "data-platform-integration",
    "kube-prometheus-stack-values.yaml": "data-platform-observability",
    "loki-values.yaml": "data-platform-observability",
    "alloy-values.yaml": "data-platform-observability",
}


def referenced(docs) -> set[tuple[str, str, str | None]]:
    found = set()
    for doc in docs:
        if doc["kind"] in ("ExternalSecret", "Certificate", "ClusterSecretStore"):
            continue
        found |= set(_refs(doc.get("spec"), doc["metadata"].get("namespace", "")))
    for name, namespace in RELEASES.items():
        found |= set(_refs(yaml.safe_load((HELM / name).read_text()), namespace))
    return found


def produced(docs) -> dict[tuple[str, str], set[str]]:
    """(namespace, Secret) -> keys, for what ExternalSecrets and Certificates write."""
    out: dict[tuple[str, str], set[str]] = {}
    for doc in docs:
        ns = doc["metadata"].get("namespace", "")
        if doc["kind"] == "ExternalSecret":
            out[(ns, doc["spec"]["target"]["name"])] = {d["secretKey"] for d in doc["spec"]["data"]}
        elif doc["kind"] == "Certificate":
            out[(ns, doc["spec"]["secretName"])] = {
                "tls.crt",
                "tls.key",
                "ca.crt",
                "tls-combined.pem",
            }
    return out


def test_every_secret_read_is_written_by_an_external_secret_or_cert_manager(env_docs):
    env, docs = env_docs
    made = produced(docs)
    refs = referenced(docs)
    assert len(refs) > 20
    missing = sorted({(ns, name) for ns, name, _ in refs} - set(made))
    assert missing == [], env
    wrong_keys = sorted(
        (ns, name, key) for ns, name, key in refs if key and key not in made[(ns, name)]
    )
    assert wrong_keys == [], env


def test_external_secrets_come_from_vault_and_refresh(env_docs):
    _, docs = env_docs
    (store,) = [d for d in docs if d["kind"] == "ClusterSecretStore"]
    assert "vault" in store["spec"]["provider"]
    assert store["spec"]["provider"]["vault"]["server"].startswith("https://")
    for doc in docs:
        if doc["kind"] == "ExternalSecret":
            assert doc["spec"]["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "vault"}
            assert doc["spec"]["refreshInterval"] in ("1h", "24h"), ident(doc)


def test_the_readme_tells_the_rotation_of_every_secret(rendered):
    for doc in rendered["prod"]:
        if doc["kind"] == "ExternalSecret":
            name = doc["spec"]["target"]["name"]
            rows = [
                line for line in README.splitlines() if line.startswith("|") and f"`{name}`" in line
            ]
            assert rows and any("rotat" in row.lower() or "renew" in row.lower() for row in rows), (
                name
            )


def test_no_step_creates_a_secret_by_hand():
    assert "kubectl create secret" not in README
    assert "create secret generic" not in README


def test_a_secret_without_its_external_secret_is_caught(rendered):
    docs = [
        d
        for d in rendered["prod"]
        if not (d["kind"] == "ExternalSecret" and d["metadata"]["name"] == "loki-s3")
    ]
    refs = referenced(docs)
    assert ("data-platform-observability", "loki-s3") not in produced(docs)
    assert any(name == "loki-s3" for _, name, _ in refs)
