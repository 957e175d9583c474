"""Regenerate the command-line reference in README.md from `bazhong-accounts --help` and the
`--help` of every command (between <!-- cli:start --> and <!-- cli:end -->), so it cannot drift
from the code. `--check`: exit 1 when README.md is stale (tests/test_cli.py does the same).

    python scripts/cli_reference.py          # rewrite README.md
    python scripts/cli_reference.py --check  # only check
"""

from __future__ import annotations

import sys

from readme_blocks import replace_block, sync

from bazhong_accounts.cli import PROG, help_texts


def reference() -> str:
    blocks = []
    for name, text in help_texts().items():
        title = f"{PROG} {name}".strip()
        blocks.append(f"<details><summary><code>{title}</code></summary>\n\n```text\n{text.rstrip()}\n```\n\n</details>")
    return "\n".join(blocks)


def render(readme: str) -> str:
    """README text with the command-line reference replaced (an error when a marker is missing)."""
    return replace_block(readme, "cli", reference())


if __name__ == "__main__":
    sys.exit(sync(render, "cli_reference.py"))
