"""Rewrite the generated tables of README.md from the data: the resources (between the
resources:start/end markers: datapackage.json and CSV row counts), the errata (errata:start/end)
and the engines' measurements (engines:start/end: benchmarks/results/engines.csv).
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


def engines_table() -> str:
    """The latest measurement of each task at each N, its times against the bare scan of the
    same run (a run starts at its `generate` row): wall, and CPU, the steadier one on a shared
    machine."""
    with open(ROOT / "benchmarks" / "results" / "engines.csv", encoding="utf-8", newline="") as fh:
        rows, run = [], 0
        for r in csv.DictReader(fh):
            run += r["task"] == "generate"
            rows.append(dict(r, run=run))
    rows = [r for r in rows if r["task"] != "generate"]
    latest = {(r["n"], r["task"]): r for r in rows}  # file order: the last one wins
    scans = {(r["n"], r["run"]): r for r in rows if r["task"] == "scan"}

    def times(r, key):
        scan = scans.get((r["n"], r["run"]))
        if not (r.get(key) and scan and scan.get(key)):
            return ""
        return f"{float(r[key]) / float(scan[key]):.1f}×"

    lines = ["| N | rows | CSV MB | task | wall s | × scan | CPU s | × scan | peak MB | load | date | note |",
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in sorted(latest.values(), key=lambda r: int(r["n"])):
        lines.append(f"| {int(r['n']):,} | {int(r['rows']):,} | {r['csv_mb']} | {r['task']} | {r['seconds']} | "
                     f"{times(r, 'seconds')} | {r.get('cpu_seconds') or ''} | {times(r, 'cpu_seconds')} | "
                     f"{r['max_rss_mb']} | {r.get('load_avg') or ''} | {r['date']} | {r['note'].replace('|', '/')} |")
    return "\n".join(lines)


def render(text: str) -> str:
    for name, make in (("resources", resources_table), ("errata", errata_table), ("engines", engines_table)):
        text = replace_block(text, name, make())
    return text


if __name__ == "__main__":
    sys.exit(sync(render, "readme_table.py"))
