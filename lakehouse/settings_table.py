"""The settings reference as Markdown, generated from the model so the docs cannot drift.

``python -m lakehouse.settings_table`` prints the table; ``--write docs/settings.md`` replaces
the block between the markers; tests/test_settings_table.py fails when the page is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from lakehouse.settings import PREFIX, Settings

BEGIN = (
    "<!-- settings-table: begin (python -m lakehouse.settings_table --write docs/settings.md) -->"
)
END = "<!-- settings-table: end -->"


def _default(field: FieldInfo) -> str:
    if field.annotation is SecretStr or "SecretStr" in str(field.annotation):
        return "secret: environment / Kubernetes Secret only"
    value: Any = field.get_default(call_default_factory=True)
    if value is None:
        return ""
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def markdown() -> str:
    """One row per setting: variable, default, meaning (the field's description)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{PREFIX}{name.upper()}` | {_default(field)} | {description} |")
    return "\n".join(rows)


def replace_block(text: str, table: str) -> str:
    """``text`` with the block between the markers replaced by ``table``."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"the markers {BEGIN!r} and {END!r} are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, metavar="FILE", help="update FILE's table block")
    args = parser.parse_args(argv)
    if args.write is None:
        print(markdown())
        return 0
    args.write.write_text(replace_block(args.write.read_text(), markdown()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
