"""The generated blocks of README.md: text between `<!-- NAME:start -->` and `<!-- NAME:end -->`
markers, rewritten from the code or the data so they cannot drift (scripts/cli_reference.py,
scripts/readme_table.py). One place for the marker grammar, the `--check` mode and the atomic write."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def replace_block(text: str, name: str, content: str) -> str:
    """`text` with the block NAME replaced by `content` (ValueError when a marker is missing)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"README.md: markers {start} and {end} not found")
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{content}\n{end}", text, flags=re.S)


def sync(render: Callable[[str], str], script: str) -> int:
    """Rewrite README.md atomically with `render`; with `--check` only say (exit 1) when it is stale."""
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print(f"README.md: a generated block is stale; run: python scripts/{script}", file=sys.stderr)
            return 1
        return 0
    tmp = README.with_name(README.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, README)
    return 0
