"""The access table (deploy/access/access.yaml), read and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

TABLE = Path(__file__).resolve().parent / "access.yaml"
Level = Literal["read", "write"]
LEVELS = ("read", "write")


class AccessTableError(ValueError):
    """The access table names something it does not define, or a level that does not exist."""


@dataclass(frozen=True)
class Principal:
    """A Keycloak group or a service account, and what it may do per namespace."""

    name: str
    kind: Literal["group", "service"]
    pii: bool
    access: dict[str, Level]
    admin: bool = False
    dagster_ui: Literal["full", "read-only"] | None = None

    @property
    def trino_user(self) -> str | None:
        """Trino's user for a service account (principal-field preferred_username)."""
        return f"service-account-{self.name}" if self.kind == "service" else None

    def writes(self) -> list[str]:
        return [ns for ns, level in self.access.items() if level == "write"]


@dataclass(frozen=True)
class Warehouse:
    name: str
    bucket: str
    prefix: str

    def location(self, namespace: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}/{namespace}/"


@dataclass(frozen=True)
class AccessTable:
    trino_catalog: str
    warehouse: Warehouse
    namespaces: tuple[str, ...]
    principals: tuple[Principal, ...]  # services first, then groups in the table's order

    @property
    def groups(self) -> tuple[Principal, ...]:
        return tuple(p for p in self.principals if p.kind == "group")

    @property
    def services(self) -> tuple[Principal, ...]:
        return tuple(p for p in self.principals if p.kind == "service")

    def dagster_groups(self, ui: str) -> list[str]:
        """The Keycloak groups that may open the ``full`` or ``read-only`` Dagster UI."""
        return [g.name for g in self.groups if g.dagster_ui == ui]


def _principal(name: str, kind: str, spec: dict[str, Any], namespaces: set[str]) -> Principal:
    access = spec.get("access") or {}
    unknown = sorted(set(access) - namespaces)
    if unknown:
        raise AccessTableError(f"access.yaml: {kind} {name} names unknown namespaces {unknown}")
    bad = sorted(f"{ns}: {level}" for ns, level in access.items() if level not in LEVELS)
    if bad:
        raise AccessTableError(f"access.yaml: {kind} {name}: levels must be read or write: {bad}")
    if not isinstance(spec.get("pii"), bool):
        raise AccessTableError(f"access.yaml: {kind} {name} must say pii: true or false")
    if spec.get("dagster_ui") not in (None, "full", "read-only"):
        raise AccessTableError(f"access.yaml: {kind} {name}: dagster_ui is full or read-only")
    return Principal(
        name, kind, spec["pii"], dict(access), bool(spec.get("admin")), spec.get("dagster_ui")
    )  # type: ignore[arg-type]


def parse(data: dict[str, Any]) -> AccessTable:
    namespaces = tuple(data["namespaces"])
    known = set(namespaces)
    services = [_principal(n, "service", s, known) for n, s in data.get("services", {}).items()]
    groups = [_principal(n, "group", s, known) for n, s in data["groups"].items()]
    return AccessTable(
        trino_catalog=data["trino_catalog"],
        warehouse=Warehouse(**data["warehouse"]),
        namespaces=namespaces,
        principals=(*services, *groups),
    )


def load(path: Path = TABLE) -> AccessTable:
    return parse(yaml.safe_load(path.read_text()))
