"""Regenerate the command-line reference in README.md from `bazhong-accounts --help` and the
`--help` of every command (between <!-- cli:start --> and <!-- cli:end -->), so it cannot drift
from the code. `--check`: exit 1 when README.md is stale (tests/test_cli.py does the same).

    python scripts/cli_reference.py          # rewrite README.md
    python scripts/cli_reference.py --check  # only check
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from bazhong_accounts.cli import PROG, help_texts

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- cli:start -->", "<!-- cli:end -->"


def reference() -> str:
    blocks = []
    for name, text in help_texts().items():
        title = f"{PROG} {name}".strip()
        blocks.append(f"<details><summary><code>{title}</code></summary>\n\n```text\n{text.rstrip()}\n```\n\n</details>")
    return "\n".join(blocks)


def render(readme: str) -> str:
    """README text with the block between the markers replaced (an error when a marker is missing)."""
    if START not in readme or END not in readme:
        raise ValueError(f"README.md: markers {START} and {END} not found")
    block = f"{START}\n{reference()}\n{END}"
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, readme, flags=re.S)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md: the command-line reference is stale; run: python scripts/cli_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    tmp = readme.with_name(readme.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, readme)
    return 0


if __name__ == "__main__":
    sys.exit(main())
