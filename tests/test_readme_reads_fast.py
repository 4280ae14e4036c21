"""The README stays a five-minute read: short, Contributing right after the quick start with
its five recipes, every document under docs/ linked, and every relative link alive."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
RECIPES = (
    "Add an Airbyte stream",
    "Add a staging table",
    "Add a dbt model",
    "Add an ml table",
    "Add an upkeep job",
)


def _headings(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, re.M)


def test_the_readme_is_short_and_contributing_follows_the_quick_start() -> None:
    text = README.read_text()
    assert len(text.encode()) < 15_000
    headings = _headings(text)
    assert headings[:2] == ["Quick start", "Contributing"]
    contributing = text.split("## Contributing", 1)[1].split("\n## ", 1)[0]
    assert [r for r in RECIPES if f"**{r}.**" in contributing] == list(RECIPES)
    assert "make demo" in text and "make test" in text


def test_every_document_is_linked_from_the_readme() -> None:
    linked = {REPO / link for link in LINK.findall(README.read_text())}
    assert DOCS and [doc for doc in DOCS if doc not in linked] == []


def test_every_relative_link_of_the_readme_and_docs_exists() -> None:
    broken = [
        f"{page.relative_to(REPO)} -> {link}"
        for page in (README, *DOCS)
        for link in LINK.findall(page.read_text())
        if "://" not in link and not (page.parent / link).exists()
    ]
    assert broken == []
