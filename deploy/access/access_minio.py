"""MinIO policies on the prefixes that hold each namespace, from the access table.

Every table lives in one bucket under <prefix>/<namespace>/ (access.yaml, warehouse). Keycloak
users get the policy named like their group (MinIO's OpenID claim `groups`); the lakehouse's
service accounts share the key of the policy `lakehouse-service`. Listing a namespace shows
object names only; reading objects is given where the catalog gives `select` too.
"""

from __future__ import annotations

from typing import Any

from access_catalog import direct_read
from access_pii import PersonalData
from access_table import AccessTable, Principal

VERSION = "2012-10-17"
READ = ["s3:GetObject"]
WRITE = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
]
# What only the platform team's administrators do: users, policies, tiers, replication.
ADMIN = {"Effect": "Allow", "Action": ["admin:*"], "Resource": ["arn:minio:admin:::*"]}
# The backups and erasure requests the code reads and writes (LAKEHOUSE_BACKUP_LOCATION,
# LAKEHOUSE_UPKEEP_ERASURE_INBOX in each overlay's lakehouse.env).
SERVICE_EXTRA_PREFIXES = {"backups": ["lakehouse/", "erasure-requests/"]}


def _objects(bucket: str, prefixes: list[str]) -> list[str]:
    return [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in prefixes]


def _listing(bucket: str, prefixes: list[str]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": [f"arn:aws:s3:::{bucket}"],
        "Condition": {"StringLike": {"s3:prefix": sorted(p + "*" for p in prefixes)}},
    }


def _namespace_statements(
    table: AccessTable, principal: Principal, personal: PersonalData
) -> list[dict[str, Any]]:
    warehouse = table.warehouse
    prefix = {ns: f"{warehouse.prefix}/{ns}/" for ns in table.namespaces}
    known = sorted(principal.access)
    written = sorted(principal.writes())
    read = sorted(
        ns
        for ns, level in principal.access.items()
        if level == "read" and direct_read(principal, ns, personal)
    )
    statements = [_listing(warehouse.bucket, [prefix[ns] for ns in known])]
    if read:
        resources = _objects(warehouse.bucket, [prefix[ns] for ns in read])
        statements.append({"Effect": "Allow", "Action": READ, "Resource": resources})
    if written:
        resources = _objects(warehouse.bucket, [prefix[ns] for ns in written])
        statements.append({"Effect": "Allow", "Action": WRITE, "Resource": resources})
    return statements


def group_policy(table: AccessTable, group: Principal, personal: PersonalData) -> dict[str, Any]:
    statements = [ADMIN] if group.admin else []
    if group.access:
        statements += _namespace_statements(table, group, personal)
    return {"Version": VERSION, "Statement": statements}


def service_policy(table: AccessTable, personal: PersonalData) -> dict[str, Any]:
    """`lakehouse-service`: the union of the services' rows, plus backups and erasure requests."""
    union: dict[str, str] = {}
    for service in table.services:
        for ns, level in service.access.items():
            union[ns] = "write" if "write" in (level, union.get(ns)) else "read"
    merged = Principal("lakehouse-service", "service", True, union)
    statements = _namespace_statements(table, merged, personal)
    # GDPR erasure checks that no old version of an erased file survives (ListObjectVersions).
    statements[0]["Action"].append("s3:ListBucketVersions")
    for bucket, prefixes in SERVICE_EXTRA_PREFIXES.items():
        statements.append(_listing(bucket, prefixes))
        statements.append(
            {"Effect": "Allow", "Action": WRITE, "Resource": _objects(bucket, prefixes)}
        )
    return {"Version": VERSION, "Statement": statements}


def minio_policies(table: AccessTable, personal: PersonalData) -> dict[str, dict[str, Any]]:
    """Policy name -> document, for deploy/kustomize/base/storage/minio/policy-<name>.json."""
    policies = {g.name: group_policy(table, g, personal) for g in table.groups}
    policies["lakehouse-service"] = service_policy(table, personal)
    return policies
