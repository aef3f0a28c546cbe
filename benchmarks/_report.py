"""Shared by the benchmark scripts: writing one section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(title: str, body: str) -> None:
    """Replace (or add) the ``## title`` section of docs/benchmarks.md, keeping the others."""
    header = "# Benchmarks\n\nFigures are ratios against a baseline measured in the same run.\n"
    text = DOCS.read_text() if DOCS.exists() else header
    marker = f"\n## {title}\n"
    before, _, after = text.partition(marker)
    rest = after.split("\n## ", 1)
    tail = f"\n## {rest[1]}" if len(rest) > 1 else ""
    DOCS.write_text(f"{before.rstrip()}\n{marker}\n{body}{tail}")
