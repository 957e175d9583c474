"""Rewrite the generated tables of README.md from the data: the resources (between the
resources:start/end markers: datapackage.json and CSV row counts) and the errata (errata:start/end).
`--check` exits 1 when README.md is out of date (scripts/readme_blocks.py)."""

import csv
import json
import sys
from pathlib import Path

from readme_blocks import replace_block, sync

ROOT = Path(__file__).resolve().parent.parent


def resources_table() -> str:
    package = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    lines = ["| resource | title | rows | description |", "|---|---|---:|---|"]
    for res in package["resources"]:
        with open(ROOT / res["path"], encoding="utf-8", newline="") as fh:
            rows = sum(1 for _ in csv.reader(fh)) - 1
        lines.append(f"| [`{res['name']}`]({res['path']}) | {res['title']} | {rows} | {res['description']} |")
    return "\n".join(lines)


def errata_table() -> str:
    lines = ["| erratum | kind | row | carried | other |", "|---|---|---|---:|---:|"]
    with open(ROOT / "data" / "errata.csv", encoding="utf-8", newline="") as fh:
        for e in csv.DictReader(fh):
            where = f"`{e['resource']}` {e['row_key']} `{e['column']}`"
            lines.append(f"| {e['erratum_id']} | {e['kind']} | {where} | {e['value_carried']} | {e['value_other']} |")
    return "\n".join(lines)


def render(text: str) -> str:
    for name, make in (("resources", resources_table), ("errata", errata_table)):
        text = replace_block(text, name, make())
    return text


if __name__ == "__main__":
    sys.exit(sync(render, "readme_table.py"))
