"""Code-location load time: ``import lakehouse.definitions`` over importing its libraries bare.

Both sides run in fresh interpreters, interleaved, several repetitions; we print medians and
the ratio (target <= 1.2). The library list is what ``lakehouse.definitions`` really imports,
found by importing it once, so the comparison follows the code as it changes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

# Every third-party module the location loads, in load order: the bare side imports exactly
# these (submodules included), so the difference is our code and our definitions.
LIST_LIBRARIES = """
import json, sys
before = set(sys.modules)
import lakehouse.definitions
stdlib = set(sys.stdlib_module_names)
loaded = [
    name for name in sys.modules
    if name not in before and name.split('.')[0] not in stdlib
    and not name.split('.')[0].startswith('_') and name.split('.')[0] != 'lakehouse'
]
print(json.dumps(loaded))
"""


def _time(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    out = subprocess.run(
        [sys.executable, "-c", LIST_LIBRARIES], check=True, capture_output=True, text=True
    ).stdout
    modules = json.loads(out.strip().splitlines()[-1])
    libraries = sorted({name.split(".")[0] for name in modules})
    # Some entries (vendored aliases, extension internals) cannot be imported by name: skip them.
    bare = (
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    try:\n        importlib.import_module(m)\n    except Exception:\n        pass"
    )
    ours = "import lakehouse.definitions"
    _time(ours)  # warm the file-system cache and bytecode for both sides
    _time(bare)
    lib_times, def_times = [], []
    for _ in range(args.reps):
        lib_times.append(_time(bare))
        def_times.append(_time(ours))
    lib, defs = statistics.median(lib_times), statistics.median(def_times)
    print(f"libraries imported by lakehouse.definitions: {len(libraries)}")
    print(f"import libraries bare          median {lib:6.2f} s  ({args.reps} reps)")
    print(f"import lakehouse.definitions   median {defs:6.2f} s")
    print(f"ratio definitions / libraries  {defs / lib:6.2f}   (target <= 1.2)")
    print(f"libraries: {', '.join(libraries)}")


if __name__ == "__main__":
    main()
