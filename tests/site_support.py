"""Shared helpers of the site tests (no tests here): read the CSVs independently of the build code,
talk to a Datasette instance. The built site is the session fixture `site_db` (conftest.py)."""

from __future__ import annotations

import asyncio
import csv
import json
from decimal import Decimal
from pathlib import Path

from bazhong_accounts.model.descriptor import package_dir
from bazhong_accounts.site.serve import make_datasette

ROOT = package_dir()


def resources() -> list[dict]:
    dp = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    out = []
    for r in dp["resources"]:
        schema = json.loads((ROOT / r["schema"]).read_text(encoding="utf-8"))
        out.append({**r, "schema": schema})
    return out


def typed(ftype: str, cell: str):
    """A CSV cell as a comparable value: Decimal for numbers, so 675.70 == 675.7 == 675.7 (REAL)."""
    if cell == "":
        return None
    if ftype in ("number", "integer"):
        return Decimal(cell)
    if ftype == "boolean":
        return {"true": True, "false": False, "1": True, "0": False}[cell]
    return cell


def csv_rows(name: str) -> list[dict]:
    """Rows of data/<name>.csv, typed by the schema (independent of the build's loader)."""
    res = next(r for r in resources() if r["name"] == name)
    types = {f["name"]: f["type"] for f in res["schema"]["fields"]}
    with (ROOT / res["path"]).open(encoding="utf-8", newline="") as f:
        return [{k: typed(types[k], v) for k, v in row.items()} for row in csv.DictReader(f)]


def dec(v) -> Decimal | None:
    """A JSON number from Datasette as Decimal (floats via repr, which is what users see)."""
    return None if v is None else Decimal(repr(v)) if isinstance(v, float) else Decimal(v)


def datasette(db: Path):
    """The site's Datasette as every serving worker builds it (site/serve.py), started."""
    ds = make_datasette([db])
    asyncio.run(ds.invoke_startup())
    return ds


def get(ds, path: str):
    return asyncio.run(ds.client.get(path))


def get_json(ds, path: str):
    r = get(ds, path)
    assert r.status_code == 200, f"{path}: HTTP {r.status_code}: {r.text[:500]}"
    return r.json()
