"""Checks that Trino, with OAuth2 or JWT on, is served and addressed over HTTPS only.

Trino refuses OAuth2/JWT authentication over plain HTTP and the trino client refuses to send a
bearer token over it; HTTP stays for coordinator <-> workers. Each check returns problems (empty
when fine), so a test can assert the real files pass and a broken copy fails.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from k8s_manifests import Doc, get_path

HTTPS_PORT = 8443
HTTP_PORT = 8080  # coordinator <-> workers and probes only
NAMESPACE = "data-platform-processing"
SERVICE_HOST = f"trino.{NAMESPACE}.svc.cluster.local"  # the chart's Service, release "trino"
TOKEN_AUTH = {"OAUTH2", "JWT"}
SHARED_SECRET = re.compile(r"^internal-communication\.shared-secret=\$\{ENV:(\w+)\}$")
# A Trino address: "trino" or "trino.<...>" (not "trinodb.github.io"), with scheme and port.
TRINO_ADDRESS = re.compile(
    r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?<![\w.-])(?P<host>trino(?:\.[\w-]+)*)(?![\w-])"
    r"(?::(?P<port>\d+))?"
)
FORBIDDEN_LINES = {
    "http-server.https.enabled=false": "turns HTTPS off",
    "http-server.authentication.allow-insecure-over-http=true": "authenticates over plain HTTP",
    "http-server.process-forwarded=true": "trusts forwarded headers: TLS ends at Trino itself",
}


def token_auth_on(values: dict[str, Any]) -> bool:
    auth = str(get_path(values, "server.config.authenticationType") or "")
    return bool({a.strip().upper() for a in auth.split(",")} & TOKEN_AUTH)


def _config_lines(values: dict[str, Any]) -> list[str]:
    """config.properties lines the values add, coordinator and workers."""
    extra = "\n".join(
        get_path(values, f"server.{key}") or ""
        for key in ("coordinatorExtraConfig", "workerExtraConfig")
    )
    lines = extra.splitlines() + [str(p) for p in values.get("additionalConfigProperties") or []]
    return [line.strip() for line in lines]


def keystore_secret(values: dict[str, Any]) -> str | None:
    """The Secret whose directory mount holds the keystore file, on the coordinator."""
    keystore = PurePosixPath(str(get_path(values, "server.config.https.keystore.path") or "/"))
    mounts = (values.get("secretMounts") or []) + (
        get_path(values, "coordinator.secretMounts") or []
    )
    for mount in mounts:
        if not mount.get("subPath") and keystore.parent == PurePosixPath(mount["path"]):
            return mount["secretName"]
    return None


def values_problems(values: dict[str, Any]) -> list[str]:
    """The Trino chart values: HTTPS on 8443, keystore mounted, shared secret from a Secret."""
    if not token_auth_on(values):
        return []
    problems = []
    https = get_path(values, "server.config.https") or {}
    if https.get("enabled") is not True:
        problems.append("OAuth2/JWT on: server.config.https.enabled must be true")
    if https.get("port") != HTTPS_PORT:
        problems.append(f"server.config.https.port must be {HTTPS_PORT}")
    if keystore_secret(values) is None:
        problems.append("the keystore file is in no Secret mounted on the coordinator")
    exposed = (get_path(values, "coordinator.additionalExposedPorts") or {}).values()
    if not any(p.get("port") == p.get("servicePort") == HTTPS_PORT for p in exposed):
        problems.append(f"chart 1.37 exposes {HTTPS_PORT} only through additionalExposedPorts")
    lines = _config_lines(values)
    problems += [f"{line}: {why}" for line, why in FORBIDDEN_LINES.items() if line in lines]
    secret_vars = [
        m.group(1)
        for p in values.get("additionalConfigProperties") or []
        if (m := SHARED_SECRET.match(str(p).strip()))
    ]
    if not secret_vars:
        problems.append("internal-communication.shared-secret=${ENV:...} missing from every node")
    env = {e["name"]: e for e in values.get("env") or []}
    for name in secret_vars:
        if not get_path(env.get(name, {}), "valueFrom.secretKeyRef.name"):
            problems.append(f"{name} must come from a Secret (env valueFrom.secretKeyRef)")
    return problems


def certificate_problems(docs: list[Doc], secret_name: str | None, keystore: str) -> list[str]:
    """The rendered cert-manager Certificate that fills the keystore Secret."""
    certificates = [
        d
        for d in docs
        if d["kind"] == "Certificate"
        and d["metadata"].get("namespace") == NAMESPACE
        and get_path(d, "spec.secretName") == secret_name
    ]
    if len(certificates) != 1:
        return [f"no single Certificate in {NAMESPACE} writes the Secret {secret_name}"]
    spec = certificates[0]["spec"]
    problems = []
    if SERVICE_HOST not in (spec.get("dnsNames") or []):
        problems.append(f"the certificate does not name {SERVICE_HOST}")
    formats = {f.get("type") for f in spec.get("additionalOutputFormats") or []}
    if PurePosixPath(keystore).name == "tls-combined.pem" and "CombinedPEM" not in formats:
        problems.append("tls-combined.pem needs additionalOutputFormats CombinedPEM")
    return problems


def address_problems(text: str) -> list[str]:
    """Trino addresses in a file that are not https://...:8443 (or bare host:8443)."""
    problems = []
    for match in TRINO_ADDRESS.finditer(text):
        scheme, port = match["scheme"], match["port"]
        if scheme is None and port is None:
            continue  # a bare name: a label, a release, a selector
        if match["host"] != "trino" and "data-platform" not in match["host"]:
            continue  # not one of the platform's addresses (trino.io documentation, ...)
        if (scheme not in (None, "https")) or port != str(HTTPS_PORT):
            problems.append(match.group(0))
    return problems


def url_problems(url: str | None, what: str) -> list[str]:
    parts = urlsplit(url or "")
    if (parts.scheme, parts.hostname, parts.port) != ("https", SERVICE_HOST, HTTPS_PORT):
        return [f"{what} must be https://{SERVICE_HOST}:{HTTPS_PORT}, not {url!r}"]
    return []
