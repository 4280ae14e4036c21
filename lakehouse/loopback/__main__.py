"""``python -m lakehouse.loopback up|down|status|env``: the Makefile's platform-* targets."""

from __future__ import annotations

import argparse
import sys

from lakehouse.loopback.environment import export_lines
from lakehouse.loopback.layout import LoopbackError, load_layout
from lakehouse.loopback.platform import down, status, up
from lakehouse.loopback.rest_catalog import LOCK, write_lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.loopback",
        description="The platform runtime's services on 127.0.0.1, as plain processes.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start every service (idempotent) and wait until ready")
    commands.add_parser("down", help="stop every service this platform directory started")
    commands.add_parser("status", help="each service's pid and health; exit 1 unless all ready")
    env = commands.add_parser("env", help="print `export LAKEHOUSE_...` lines for a shell")
    env.add_argument("--catalog", choices=["rest", "sql"], default="rest")
    commands.add_parser(
        "lock-rest-catalog",
        help="resolve deploy/loopback/rest-catalog/pom.xml (Maven) and rewrite its classpath.lock",
    )
    args = parser.parse_args(argv)
    try:
        layout = load_layout()
        if args.command == "up":
            up(layout, say=_say)
        elif args.command == "down":
            down(layout, say=_say)
        elif args.command == "status":
            report = status(layout)
            for service in report:
                pid = service.pid or "-"
                print(f"{service.name:<14} {pid!s:>8}  {service.detail}")
            return 0 if all(service.healthy for service in report) else 1
        elif args.command == "lock-rest-catalog":
            locked = write_lock()
            print(f"{LOCK}: {len(locked)} jars pinned")
        else:
            print("\n".join(export_lines(layout, args.catalog)))
    except LoopbackError as error:
        print(f"loopback platform: {error}", file=sys.stderr)
        return 1
    return 0


def _say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
