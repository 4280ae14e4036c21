"""A two-asset run whose second asset pulls the floor away mid-run, and a way to run it.

``outage_run`` materialises ``raw/outage_first`` then ``raw/outage_second`` (version ``v`` of
each). With ``break_with`` set, the second asset's body calls it just before returning its
batch, so the outage hits that asset's Iceberg write while the first asset's commit stands.
"""

# No `from __future__ import annotations`: Dagster reads the assets' annotations at definition.
import ctypes
import os
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pyarrow as pa

from lakehouse.io_manager import IcebergIOManager
from lakehouse.settings import load_settings

FIRST = dg.AssetKey(["raw", "outage_first"])
SECOND = dg.AssetKey(["raw", "outage_second"])
ROWS = 100


def batch(version: int) -> pa.Table:
    return pa.table({"id": pa.array(range(ROWS), pa.int64()), "version": [version] * ROWS})


def outage_run(
    environment: dict[str, str], version: int, break_with: Callable[[], None] | None = None
) -> dg.ExecuteInProcessResult:
    @dg.asset(key=FIRST)
    def first() -> pa.Table:
        return batch(version)

    @dg.asset(key=SECOND, deps=[first])
    def second() -> pa.Table:
        if break_with is not None:
            break_with()
        return batch(version)

    return dg.materialize(
        [first, second],
        resources={"io_manager": IcebergIOManager(settings=load_settings(environment))},
        raise_on_error=False,
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The step failure's error text, causes included, as the UI shows it."""
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    error = failure.step_failure_data.error
    texts = []
    while error is not None:
        texts.append(error.message)
        error = error.cause
    return "\n".join(texts)


def drop_file_permission_override() -> None:
    """Make this (root) process honour file permissions: drop CAP_DAC_OVERRIDE and friends.

    Root ignores a directory's missing write bit, so a read-only warehouse needs this.
    """
    if os.geteuid() != 0:
        return

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    keep = ~((1 << 1) | (1 << 2) | (1 << 3)) & 0xFFFFFFFF  # DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER
    data[0].effective &= keep
    data[0].permitted &= keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def make_read_only(directory: Path) -> None:
    for path in [directory, *directory.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)


def read_only_run(environment: dict[str, str], version: int, warehouse: str, queue) -> None:
    """In a child process: run with the warehouse turned read-only under the second asset."""
    drop_file_permission_override()
    result = outage_run(environment, version, lambda: make_read_only(Path(warehouse)))
    queue.put((result.success, "" if result.success else failure_message(result)))
