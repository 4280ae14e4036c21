"""A hostile Airbyte source: the real connector with a known share of its records corrupted.

    python hostile_source.py LEDGER.jsonl REAL_CONNECTOR read --config ... --catalog ...

Runs the real connector and passes its output through, corrupting every ``EVERY[stream]``-th
record of a stream in the next way on that stream's list (cycling): wrong types, bad timestamps,
null keys, non-finite numbers, control characters, lines that are no longer JSON or UTF-8, a
duplicate id, a record of a stream nobody asked for. Every change is a ledger line (kind,
stream, id, the exact line sent); the last ledger line counts the record lines sent per stream.
``sourceStats.recordCount`` is set to the record lines this source sent, as an honest
connector's would be.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

# products has 100 records at most: corrupted densely enough that every kind hits it.
EVERY = {"products": 7, "users": 100, "purchases": 100}
UNKNOWN = "invoices"
Change = Callable[[dict[str, Any]], Any]


def _set(column: str, value: Any) -> Change:
    return lambda data: data | {column: value}


def _insert(text: bytes) -> Callable[[bytes], bytes]:
    return lambda line: line.replace(b'"data": {', b'"data": {"x": "' + text + b'", ', 1)


SPECIFIC: dict[str, list[tuple[str, Change]]] = {
    "products": [
        ("price_text", _set("price", "cheap")),
        ("number_make", _set("make", 42)),
        ("fractional_year", _set("year", 2019.7)),
        ("nan_price", _set("price", math.nan)),
        ("infinite_price", _set("price", -math.inf)),
    ],
    "users": [
        ("address_text", _set("address", "12 Main Street")),
        ("number_name", _set("name", 12345)),
        ("control_characters", _set("name", "Bob\x00\x1b[31mred\x07")),
        ("boolean_age", _set("age", True)),
        (
            "nested_control",
            lambda d: d | {"address": (d.get("address") or {}) | {"city": "\x1b]0"}},
        ),
    ],
    "purchases": [
        ("int64_overflow", _set("user_id", 2**70)),
        ("timestamp_number", _set("purchased_at", 1718000000)),
    ],
}
GENERIC: list[tuple[str, Change]] = [
    ("bad_timestamp", _set("updated_at", "last Tuesday")),
    ("out_of_range_timestamp", _set("created_at", "10000-01-01T00:00:00+00:00")),
    ("null_id", _set("id", None)),
    ("data_not_object", json.dumps),
]
LINES: list[tuple[str, Callable[[bytes], bytes]]] = [
    ("lone_surrogate", _insert(b"\\ud800")),
    ("invalid_utf8", _insert(b"\xff\xfe")),
    ("malformed_json", lambda line: line[: len(line) // 2]),
]
EXTRA = ["duplicate_id", "unknown_stream"]


class Hostile:
    def __init__(self, ledger: TextIO) -> None:
        self.ledger = ledger
        self.seen: Counter[str] = Counter()
        self.turn: Counter[str] = Counter()
        self.since_state: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.out = sys.stdout.buffer

    def send(self, line: bytes, stream: str) -> None:
        self.out.write(line.rstrip(b"\n") + b"\n")
        self.sent[stream] += 1
        self.since_state[stream] += 1

    def note(self, kind: str, stream: str, record_id: Any, line: bytes) -> None:
        entry = {"kind": kind, "stream": stream, "id": record_id}
        self.ledger.write(json.dumps(entry | {"line": line.decode("utf-8", "backslashreplace")}))
        self.ledger.write("\n")

    def record(self, message: dict[str, Any], line: bytes) -> None:
        stream, data = message["record"]["stream"], message["record"]["data"]
        self.seen[stream] += 1
        every = EVERY.get(stream, 100)
        if self.seen[stream] % every != every // 2:
            self.send(line, stream)
            return
        changes = SPECIFIC.get(stream, []) + GENERIC
        kinds = [kind for kind, _ in changes] + [kind for kind, _ in LINES] + EXTRA
        turn = self.turn[stream] % len(kinds)
        self.turn[stream] += 1
        kind, record_id, target = kinds[turn], data.get("id"), stream
        if turn < len(changes):
            message["record"]["data"] = changes[turn][1](dict(data))
            corrupted = json.dumps(message).encode()
        elif kind in dict(LINES):
            corrupted = dict(LINES)[kind](json.dumps(message).encode())
        elif kind == "duplicate_id":  # the record, then the same again: Airbyte keeps one
            self.send(line, stream)
            corrupted = line
        else:
            self.send(line, stream)
            message["record"]["stream"] = target = UNKNOWN
            corrupted = json.dumps(message).encode()
        self.note(kind, target, record_id, corrupted)
        self.send(corrupted, target)

    def state(self, message: dict[str, Any], line: bytes) -> bytes:
        state = message.get("state") or {}
        name = ((state.get("stream") or {}).get("stream_descriptor") or {}).get("name")
        if "sourceStats" not in state or name is None:
            return line
        state["sourceStats"] = {"recordCount": float(self.since_state.pop(name, 0))}
        return json.dumps(message).encode() + b"\n"


def main(argv: list[str]) -> int:
    ledger_path, command = argv[1], argv[2:]
    with (
        open(ledger_path, "a", encoding="utf-8") as ledger,
        subprocess.Popen(command, stdout=subprocess.PIPE) as connector,
    ):
        hostile = Hostile(ledger)
        assert connector.stdout is not None
        for line in connector.stdout:
            message = json.loads(line) if line.startswith(b"{") else None
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "RECORD":
                assert message is not None
                hostile.record(message, line)
                continue
            if kind == "STATE":
                assert message is not None
                line = hostile.state(message, line)
            sys.stdout.buffer.write(line)
        sys.stdout.flush()
        ledger.write(json.dumps({"kind": "_sent", "counts": dict(hostile.sent)}) + "\n")
        return connector.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
