"""Rewrite the generated tables of README.md from the data: the resources (between the
resources:start/end markers: datapackage.json and CSV row counts) and the errata (errata:start/end).
`--check` exits 1 when README.md is out of date."""

import csv
import json
import re
import sys
from pathlib import Path

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
    for marker, make in (("resources", resources_table), ("errata", errata_table)):
        start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{make()}\n{end}", text, flags=re.S)  # noqa: B023 - called at once
    return text


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("README.md: the generated tables are out of date; run `python scripts/readme_table.py`")
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
