"""Write every data permission from deploy/access/access.yaml and the lakehouse's PII tags.

    .venv/bin/python deploy/access/generate_access.py          # rewrite the generated files
    .venv/bin/python deploy/access/generate_access.py --check  # exit 1 if one is stale

Writes Trino's rules (deploy/kustomize/base/engines/trino-access-rules.json), the catalog's
desired state (deploy/kustomize/base/catalog/access/catalog-access.json) and the MinIO policies
(deploy/kustomize/base/storage/minio/policy-<name>.json). tests/deploy/test_access.py checks
that the committed files are this script's output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from access_catalog import catalog_access  # noqa: E402
from access_minio import minio_policies  # noqa: E402
from access_pii import PersonalData, declared  # noqa: E402
from access_table import AccessTable, load  # noqa: E402
from access_trino import trino_rules  # noqa: E402

BASE = HERE.parent / "kustomize" / "base"
TRINO_RULES = BASE / "engines" / "trino-access-rules.json"
CATALOG_ACCESS = BASE / "catalog" / "access" / "catalog-access.json"
MINIO = BASE / "storage" / "minio"


def render(table: AccessTable, personal: PersonalData) -> dict[Path, str]:
    """Path -> content of every generated file."""

    def dump(data: Any) -> str:
        return json.dumps(data, indent=2) + "\n"

    files = {
        TRINO_RULES: dump(trino_rules(table, personal)),
        CATALOG_ACCESS: dump(catalog_access(table, personal)),
    }
    for name, policy in minio_policies(table, personal).items():
        if not policy["Statement"]:
            raise ValueError(f"access.yaml: {name} has no access at all; drop it from the table")
        files[MINIO / f"policy-{name}.json"] = dump(policy)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in render(load(), declared()).items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(HERE.parents[1]))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    verb = "stale" if args.check else "written"
    for path in stale:
        print(f"{verb}: {path}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
