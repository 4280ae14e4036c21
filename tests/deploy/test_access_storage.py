"""Least privilege on objects: the MinIO policies name the prefixes that really hold each
namespace, and give object reads only where no masking is needed (access.yaml, PII tags)."""

from __future__ import annotations

import copy
import json
import re
from fnmatch import fnmatchcase

from access_catalog import direct_read
from access_minio import minio_policies
from access_table import load
from deploy_checks import DEPLOY, ENVIRONMENTS, OVERLAYS

TABLE = load()
MINIO = DEPLOY / "kustomize" / "base" / "storage" / "minio"
WAREHOUSE = json.loads((DEPLOY / "kustomize/base/catalog/warehouse.json").read_text())


def allowed(policy: dict, action: str, bucket: str, key: str | None = None) -> bool:
    """MinIO's evaluation of Allow statements (no Deny here): an object action on
    bucket/key, or a ListBucket on bucket with the listing prefix `key`."""
    resource = f"arn:aws:s3:::{bucket}" + (
        "" if key is None or action == "s3:ListBucket" else f"/{key}"
    )
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatchcase(action, a) for a in statement["Action"]):
            continue
        if not any(fnmatchcase(resource, r) for r in statement["Resource"]):
            continue
        prefixes = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if prefixes is None or (key is not None and any(fnmatchcase(key, p) for p in prefixes)):
            return True
    return False


def _committed() -> dict[str, dict]:
    return {
        p.name[len("policy-") : -len(".json")]: json.loads(p.read_text())
        for p in MINIO.glob("policy-*.json")
    }


def _object(namespace: str) -> str:
    return f"{TABLE.warehouse.prefix}/{namespace}/8c6e3f0b/data/00000-0-part.parquet"


def test_the_warehouse_is_where_the_table_says():
    assert WAREHOUSE["storage-profile"]["bucket"] == TABLE.warehouse.bucket
    assert WAREHOUSE["storage-profile"]["key-prefix"] == TABLE.warehouse.prefix
    assert WAREHOUSE["warehouse-name"] == TABLE.warehouse.name


def foreign_buckets(policy: dict) -> set[str]:
    """Buckets a role policy names besides the warehouse's (`*` for every bucket)."""
    named = {
        re.match(r"arn:aws:s3:::([^/]+)", r).group(1)
        for s in policy["Statement"]
        for r in s["Resource"]
        if r.startswith("arn:aws:s3:::")
    }
    return named - {TABLE.warehouse.bucket}


def test_role_policies_name_only_the_bucket_that_holds_data():
    """Issue 16: the role policies pointed at per-layer buckets that hold no data."""
    for group in TABLE.groups:
        assert foreign_buckets(_committed()[group.name]) == set(), group.name


def test_each_group_reads_and_writes_exactly_its_namespaces(personal_data):
    policies = _committed()
    bucket = TABLE.warehouse.bucket
    for group in TABLE.groups:
        policy = policies[group.name]
        for namespace in TABLE.namespaces:
            level = group.access.get(namespace)
            key = _object(namespace)
            reads = level == "write" or (
                level == "read" and direct_read(group, namespace, personal_data)
            )
            assert allowed(policy, "s3:GetObject", bucket, key) == reads, (group.name, namespace)
            assert allowed(policy, "s3:PutObject", bucket, key) == (level == "write"), (
                group.name,
                namespace,
            )
            listing = f"{TABLE.warehouse.prefix}/{namespace}/"
            assert allowed(policy, "s3:ListBucket", bucket, listing) == (level is not None)


def test_no_group_without_the_pii_role_reads_personal_objects(personal_data):
    policies = _committed()
    for group in TABLE.groups:
        if group.pii:
            continue
        for namespace in personal_data.namespaces():
            assert not allowed(
                policies[group.name], "s3:GetObject", TABLE.warehouse.bucket, _object(namespace)
            )


def test_the_service_policy_covers_what_the_code_writes(personal_data):
    policy = _committed()["lakehouse-service"]
    for namespace in TABLE.namespaces:
        assert allowed(policy, "s3:PutObject", TABLE.warehouse.bucket, _object(namespace))
    for env in ENVIRONMENTS:
        settings = dict(
            line.split("=", 1)
            for line in (OVERLAYS / env / "lakehouse.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        for name in ("LAKEHOUSE_BACKUP_LOCATION", "LAKEHOUSE_UPKEEP_ERASURE_INBOX"):
            bucket, prefix = settings[name].removeprefix("s3://").split("/", 1)
            assert allowed(policy, "s3:PutObject", bucket, f"{prefix}/2026-01-01/x.json"), (
                env,
                name,
            )
    assert policy == minio_policies(TABLE, personal_data)["lakehouse-service"]


def test_setup_creates_every_generated_policy():
    setup = (MINIO / "setup.sh").read_text()
    (loop,) = re.findall(r"for policy in ([^;]+);", setup)
    configmap = (DEPLOY / "kustomize/base/storage/kustomization.yaml").read_text()
    for name in _committed():
        assert name in loop.split(), name
        assert f"minio/policy-{name}.json" in configmap, name


# ---- mutation tests ----


def test_a_per_layer_bucket_or_a_wildcard_is_caught():
    policy = copy.deepcopy(_committed()["data-analyst"])
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": ["arn:aws:s3:::iceberg-analytics/*"],
        }
    )
    assert foreign_buckets(policy) == {"iceberg-analytics"}
    policy["Statement"].append(
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}
    )
    assert "*" in foreign_buckets(policy)
    assert allowed(policy, "s3:GetObject", TABLE.warehouse.bucket, _object("raw"))
