"""A lost catalog connection, re-raised as an error that names the catalog.

Here, below ``lakehouse.catalog``, because the write path (``writes.py``) wraps its commits with
it and the library must not import the resources that stand above it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar


class CatalogUnavailableError(RuntimeError):
    """The catalog cannot be reached or opened; the message names which one."""


def described_catalog(kind: str, name: str, uri: str | None) -> str:
    if uri and "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        uri = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return f"{kind} catalog '{name}' at {uri}"


P = ParamSpec("P")
R = TypeVar("R")


def _connection_lost(error: BaseException) -> bool:
    """A database driver's connection error (SQL catalog down, or its connections cut)."""
    import sqlalchemy.exc

    return isinstance(error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)


def names_unreachable_catalog(function: Callable[P, R]) -> Callable[P, R]:
    """Re-raise a lost catalog connection as ``CatalogUnavailableError`` naming the catalog.

    For functions taking the catalog first. The driver's own text names a host and port, not
    which catalog the run was writing to; that is the first thing an operator needs.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            cause = error if _connection_lost(error) else error.__cause__
            if cause is None or not _connection_lost(cause):
                raise
            catalog = args[0]
            properties = getattr(catalog, "properties", {})
            described = described_catalog(
                properties.get("type", "sql"), getattr(catalog, "name", "?"), properties.get("uri")
            )
            raise CatalogUnavailableError(
                f"the Iceberg {described} is unreachable; nothing was committed unless said "
                f"below: {type(error).__name__}: {str(error).splitlines()[0]}"
            ) from error

    return wrapper
