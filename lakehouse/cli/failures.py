"""Known failures as one line naming what to fix; a traceback only with ``--debug``.

The cause is looked for along the exception's chain (Dagster wraps a step's error in its own),
so ``lakehouse demo`` says the same line as the command that failed directly.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TypeGuard

from lakehouse.iceberg.unreachable import CatalogUnavailableError
from lakehouse.settings import PREFIX, SettingsError

UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}
NOT_A_DIRECTORY = {errno.ENOTDIR, errno.EEXIST}
CATALOG_HINT = (
    f"; check {PREFIX}CATALOG_URI (and that the catalog's server is up), or run `lakehouse doctor`"
)


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def known_line(error: BaseException) -> str | None:
    """The line naming what to fix, when ``error`` (or an error it wraps) is a known failure."""
    for link in _chain(error):
        known = _known(link)
        if known is not None:
            return known
    return None


def _known(error: BaseException) -> str | None:
    from lakehouse.raw.sync import ExtractionError

    if isinstance(error, SettingsError):
        return error.one_line()
    if isinstance(error, ExtractionError):
        return str(error).strip().splitlines()[0]
    if isinstance(error, CatalogUnavailableError):
        line = str(error).strip().splitlines()[0]
        return line if "; check " in line else line + CATALOG_HINT
    if isinstance(error, OSError) and error.errno in UNWRITABLE and error.filename:
        return (
            f"cannot write {error.filename}: {error.strerror}; {PREFIX}HOME and "
            f"{PREFIX}WAREHOUSE must name directories this user can write"
        )
    if _file_in_the_way(error):
        return (
            f"cannot create the directory {error.filename}: a file is in the way; "
            f"{PREFIX}HOME and {PREFIX}WAREHOUSE must name directories this user can write"
        )
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"no space left on the device of {error.filename or 'the warehouse'}"
    return None


def _file_in_the_way(error: BaseException) -> TypeGuard[OSError]:
    """mkdir on a file, or on a path through one."""
    return (
        isinstance(error, OSError)
        and error.errno in NOT_A_DIRECTORY
        and bool(error.filename)
        and not Path(error.filename).is_dir()
    )


def one_line(error: BaseException) -> tuple[str, int]:
    """The line to print and the exit code: 2 for a known failure, 1 for anything else."""
    known = known_line(error)
    if known is not None:
        return known, 2
    first = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first} (rerun with --debug for the traceback)", 1
