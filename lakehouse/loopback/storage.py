"""S3 on loopback: moto's server, path-style, with the platform's buckets and their versioning.

Why moto and not MinIO: MinIO ships no binary through the registries these machines reach, and
building it from the Go module proxy took over 10 minutes of both cores (and ~1 GB of modules)
without finishing, on every fresh CI machine. moto is in the lock already. What it lacks is
written in docs/platform-loopback.md: objects live in memory (a restarted server starts empty,
so the catalogs are reset with it), no lifecycle tiering, no OpenID login.

Credentials are checked for real: the buckets and a service user (the platform's MinIO policy
``lakehouse-service``, the same JSON) are made first, then moto's IAM enforcement is switched on,
so every later request must be signed with that user's keys and is judged by its policy.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Callable

from lakehouse.loopback.layout import HOST, Layout
from lakehouse.loopback.processes import Launch
from lakehouse.settings import REPO_ROOT

MINIO_DIR = REPO_ROOT / "deploy" / "kustomize" / "base" / "storage" / "minio"
# deploy/kustomize/base/storage/minio-setup-job.yaml: ICEBERG_BUCKETS, LOG_BUCKETS and backups.
VERSIONED_BUCKETS = (
    "iceberg-warehouse",
    "iceberg-raw",
    "iceberg-staging",
    "iceberg-analytics",
    "iceberg-ml",
    "backups",
)
LOG_BUCKETS = ("dagster-compute-logs", "airbyte-logs", "airbyte-state")
SERVICE_USER = "lakehouse-service"
WAREHOUSE_BUCKET = "iceberg-warehouse"
# Lakekeeper's storage profile (deploy/kustomize/base/catalog/warehouse.json): the REST catalog's
# tables live under this key prefix, where the service policy grants the layers' namespaces.
WAREHOUSE_PREFIX = "lakehouse"
# The SQL catalog's warehouse here (a loopback-only grant: the platform catalogs through REST).
SQL_WAREHOUSE_PREFIX = "sql"


def ready_check(layout: Layout) -> Callable[[], bool]:
    def ready() -> bool:
        # moto's dashboard: answers without credentials, even once they are enforced.
        with urllib.request.urlopen(f"{layout.url('s3')}/moto-api/", timeout=2):
            return True

    return ready


def launch(layout: Layout) -> Launch:
    port = layout.ports["s3"]
    return Launch(
        name="s3",
        argv=[sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
        ports=["s3"],
        ready=ready_check(layout),
        timeout_seconds=60,
    )


def set_up(layout: Layout) -> dict[str, str]:
    """Buckets, versioning, the service user and its keys; then enforce credentials.

    Returns the service user's keys. Runs on an empty server only (moto keeps no state).
    """
    import boto3

    endpoint = layout.url("s3")
    # Before enforcement moto accepts any key: these placeholders sign the setup requests.
    setup = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "setup",
        "aws_secret_access_key": "setup",  # pragma: allowlist secret
    }
    s3, iam = boto3.client("s3", **setup), boto3.client("iam", **setup)
    for bucket in (*VERSIONED_BUCKETS, *LOG_BUCKETS):
        s3.create_bucket(Bucket=bucket)
    for bucket in VERSIONED_BUCKETS:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    iam.create_user(UserName=SERVICE_USER)
    iam.put_user_policy(
        UserName=SERVICE_USER, PolicyName=SERVICE_USER, PolicyDocument=json.dumps(service_policy())
    )
    key = iam.create_access_key(UserName=SERVICE_USER)["AccessKey"]
    _enforce_credentials(endpoint)
    return {"s3_access_key_id": key["AccessKeyId"], "s3_secret_access_key": key["SecretAccessKey"]}


def service_policy() -> dict:
    """The platform's MinIO policy for the service user, as moto can judge it.

    moto's policy engine differs from MinIO's in three ways the loopback must bridge: it judges
    HEAD on a bucket as ``s3:HeadBucket`` (AWS and MinIO: ListBucket); it knows no ``s3:prefix``
    condition key, so a listing limited to prefixes would be refused whole (the loopback lists
    those buckets unconditioned; object reads and writes keep the platform's prefixes); and the
    SQL catalog's warehouse prefix is granted here only.
    """
    policy = json.loads((MINIO_DIR / f"policy-{SERVICE_USER}.json").read_text())
    for statement in policy["Statement"]:
        statement.pop("Condition", None)
    listable = [
        resource
        for statement in policy["Statement"]
        if "s3:ListBucket" in statement["Action"]
        for resource in statement["Resource"]
        if "/" not in resource.removeprefix("arn:aws:s3:::")
    ]
    objects = next(s for s in policy["Statement"] if "s3:PutObject" in s["Action"])
    policy["Statement"] += [
        {"Effect": "Allow", "Action": ["s3:HeadBucket"], "Resource": listable},
        {
            "Effect": "Allow",
            "Action": objects["Action"],
            "Resource": [f"arn:aws:s3:::{WAREHOUSE_BUCKET}/{SQL_WAREHOUSE_PREFIX}/*"],
        },
    ]
    return policy


def _enforce_credentials(endpoint: str) -> None:
    # moto's switch: from now on every request needs a known key and a policy that allows it.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        # Any other type is parsed as a form and the count arrives empty.
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        json.load(response)
