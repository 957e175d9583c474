"""Writing a benchmark's results: one CSV (UTF-8, LF, one header row), atomically."""

from __future__ import annotations

import csv
import os
from pathlib import Path


def write_results(out: Path, fields: list[str], rows: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out)
