"""Synthetic data package of N department-years, derived from the real one, for the scale benchmarks.

    python benchmarks/synth.py OUT_DIR N

Department-year 0 is the real one (bazhong-govt-office, 2018), unchanged. Department-year i >= 1 is
department `synthetic-<i // 5>` in fiscal year 2018 + i % 5, a copy of the real rows with every
money figure multiplied by the integer k = 1 + i % 9. Money figures are the schema fields whose
description contains "万元", the `value` of rows whose unit_zh is 万元 (indicators), and the errata
values whose erratum column is one of those. Integer scaling keeps every sum, share, completion
rate, prior-year amount and derived row exact, and errata-covered breaks stay known. Percentages,
counts, codes and structure are unchanged; datapackage.json and schemas/ are copied as they are.

Provenance stays checkable and is marked synthetic: each source_quote excerpt is rewritten with the
row's scaled money values, and the row cites the synthetic report of its own department-year,
source `<department>-<year>-scale-k` (the validator wants a row's source to be the report of its
year and department). All sources of one k share the archived text `archive/synthetic-scale-k.txt`:
every distinct rewritten excerpt for that k, one after another, so each excerpt is a substring.

The CSVs are written in canonical form (UTF-8, LF, schema column order, primary-key order): each
resource's rows are rendered once per k and only fiscal_year, department and source_id vary, so
N = 10,000 (3.1 million rows, 1.1 GB) takes seconds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import shutil
import sys
from decimal import Decimal
from pathlib import Path

from bazhong_accounts.model import roles

ROOT = Path(__file__).resolve().parent.parent
REAL_DEPARTMENT = "bazhong-govt-office"
REAL_YEAR = 2018
YEARS = 5  # synthetic department-years spread over 2018..2022
MARKER = ".synthetic-package"  # lets a rerun replace a directory this script wrote, and only that
SEP = " … "
# A whole number token: not part of a longer number on either side.
NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
MONEY_AFTER = re.compile(r"\s*万元")


SOURCE_SLOT = "\x00source\x00"  # stands for the source_id cell in a pre-rendered row


def department_year(i: int) -> tuple[int, str, int]:
    """(fiscal_year, department, k) of department-year i >= 1."""
    return REAL_YEAR + i % YEARS, f"synthetic-{i // YEARS:05d}", 1 + i % 9


def source_id(fiscal_year: int, department: str, k: int) -> str:
    return f"{department}-{fiscal_year}-scale-{k}"


# ---------------------------------------------------------------- reading the real package


def _read(pkg_dir: Path, resource: dict) -> tuple[dict, list[dict]]:
    schema = json.loads((pkg_dir / resource["schema"]).read_text(encoding="utf-8"))
    with open(pkg_dir / resource["path"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return schema, rows


def money_fields(schema: dict) -> set[str]:
    """The schema's money columns: one source of truth, the numeric fields described in 万元."""
    return {f["name"] for f in schema["fields"]
            if f["type"] in ("number", "integer") and "万元" in f.get("description", "")}


def row_money(row: dict, money: set[str]) -> set[str]:
    cols = {c for c in money if row.get(c)}
    if row.get("unit_zh") == "万元" and row.get("value"):
        cols.add("value")
    return cols


def _typed_key(schema: dict, row: dict, columns: list[str]):
    types = {f["name"]: f["type"] for f in schema["fields"]}
    out = []
    for c in columns:
        v = row[c]
        out.append(int(v) if types[c] == "integer" else Decimal(v) if types[c] == "number" else v)
    return tuple(out)


def _pk(schema: dict) -> list[str]:
    pk = schema.get("primaryKey", [])
    return [pk] if isinstance(pk, str) else list(pk)


# ---------------------------------------------------------------- scaling


def scale(cell: str, k: int) -> str:
    return str(Decimal(cell) * k) if cell else cell


def rewrite_excerpt(excerpt: str, values: set[Decimal], k: int) -> str:
    """Replace the number tokens equal to one of `values` by value * k. Where a value is printed
    followed by 万元, only those tokens change (the same digits may be a percentage or a count)."""
    if k == 1 or not values:
        return excerpt
    tokens = list(NUMBER.finditer(excerpt))
    chosen = {}
    for v in values:
        same = [m for m in tokens if Decimal(m.group()) == v]
        money = [m for m in same if MONEY_AFTER.match(excerpt, m.end())]
        for m in money or same:
            chosen[m.start()] = m
    out = excerpt
    for start in sorted(chosen, reverse=True):
        m = chosen[start]
        out = out[:start] + str(Decimal(m.group()) * k) + out[m.end():]
    return out


def _numbers(text: str) -> set[Decimal]:
    return {Decimal(t) for t in NUMBER.findall(text)}


def rewrite_quote(quote: str, money_values: set[Decimal], other_values: set[Decimal], k: int) -> tuple[str, int]:
    """The quote with scaled money values, and how many excerpts had to be added back. Every value
    the original quote shows must still show: money scaled, everything else as it was. A value lost
    to a collision (a count equal to a money figure, printed without 万元) is restored by appending
    the original excerpt that shows it."""
    excerpts = quote.split(SEP)
    new = [rewrite_excerpt(e, money_values, k) for e in excerpts]
    before, after = _numbers(quote), _numbers(SEP.join(new))
    wanted = {v * k for v in money_values if v in before} | (other_values & before)
    added = 0
    for v in sorted(wanted - after):
        if v in other_values:  # a collision: bring back an original excerpt showing v
            new.append(next(e for e in excerpts if v in _numbers(e)))
            added += 1
        else:
            raise ValueError(f"scaled value {v} missing from rewritten quote {SEP.join(new)!r}")
    return SEP.join(new), added


# ---------------------------------------------------------------- rendering rows once per k


def _csv_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


# where the real report prints its figures (offsets into its text): copied as they are, the
# synthetic reports are not located
REAL_ONLY = {"figure_sources", "non_figures"}

class Resource:
    def __init__(self, desc: dict, schema: dict, rows: list[dict]):
        self.desc, self.schema, self.rows = desc, schema, rows
        self.name = desc["name"]
        self.fields = [f["name"] for f in schema["fields"]]
        self.pk = _pk(schema)
        self.money = money_fields(schema)
        scope = roles.scope(schema)
        # numbers a quote may print besides money: every numeric column but the department-year
        # and the ordinals numbering the rows (the schemas' roles say which)
        counters = {c for c in roles.with_role(schema, "ordinal") if c in self.pk}
        numbers = {f["name"] for f in schema["fields"] if f["type"] in ("number", "integer")}
        self.numeric = numbers - set(scope) - counters
        rest = [c for c in self.pk if c not in scope]
        self.rows.sort(key=lambda r: _typed_key(schema, r, rest))
        self.per_year = (len(scope) > 1 and self.pk[:len(scope)] == scope  # rows of one department-year
                         and self.name not in REAL_ONLY)

    def row_key(self, row: dict) -> str:
        """The row's key as errata name it (roles.row_key)."""
        return roles.row_key(self.schema, row)


def _scaled_row(res: Resource, row: dict, k: int, money_cols: set[str], excerpts: set[str], real_text: str) -> dict:
    """One row for factor k: money scaled, quotes rewritten (their excerpts collected), source left
    as a slot filled per department-year."""
    out = dict(row)
    for c in money_cols:
        out[c] = scale(row[c], k)
    money_values = {abs(Decimal(row[c])) for c in money_cols if row[c]} - {Decimal(0)}
    if "source_quote" in row:
        other = {abs(Decimal(row[c])) for c in res.numeric - money_cols if row.get(c)}
        out["source_quote"], _ = rewrite_quote(row["source_quote"], money_values, other, k)
        excerpts.update(out["source_quote"].split(SEP))
    if res.name == "errata":
        for c in ("quote_carried", "quote_other"):
            out[c] = SEP.join(rewrite_excerpt(e, money_values, k) for e in row[c].split(SEP))
            # verbatim quotes go into the synthetic source; a recomputation rule does not
            excerpts.update(n for e, n in zip(row[c].split(SEP), out[c].split(SEP), strict=False) if e in real_text)
    out["source_id"] = SOURCE_SLOT
    return out


def _errata_money(errata: list[dict], resources: dict[str, Resource]) -> dict[int, set[str]]:
    """Per errata row (by position): value_carried/value_other when the erratum's column is money."""
    out = {}
    for n, e in enumerate(errata):
        target = resources[e["resource"]]
        row = next((r for r in target.rows if target.row_key(r) == e["row_key"]), {})
        money = e["column"] in target.money or (e["column"] == "value" and row.get("unit_zh") == "万元")
        out[n] = {"value_carried", "value_other"} if money else set()
    return out


# ---------------------------------------------------------------- the package


def write_synthetic(out_dir: str | Path, n: int, src_dir: str | Path = ROOT) -> dict[str, int]:
    """Write the synthetic package of n department-years (n >= 1; the first is the real one) into
    out_dir. Returns rows written per resource."""
    if n < 1:
        raise ValueError("n must be at least 1")
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / MARKER).exists():
            raise FileExistsError(f"{out_dir} is not empty and was not written by synth.py; refusing to overwrite")
        shutil.rmtree(out_dir)
    for sub in ("data", "schemas", "archive"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text(f"synthetic package, n={n}\n", encoding="utf-8")
    shutil.copy2(src_dir / "datapackage.json", out_dir / "datapackage.json")
    for p in (src_dir / "schemas").glob("*.json"):
        shutil.copy2(p, out_dir / "schemas" / p.name)
    for p in (src_dir / "archive").iterdir():
        shutil.copy2(p, out_dir / "archive" / p.name)
    real_text = "\n".join(p.read_text(encoding="utf-8") for p in (src_dir / "archive").glob("*.txt"))

    descriptor = json.loads((src_dir / "datapackage.json").read_text(encoding="utf-8"))
    resources = {d["name"]: Resource(d, *_read(src_dir, d)) for d in descriptor["resources"]}
    ks = sorted({department_year(i)[2] for i in range(1, n)})
    years = sorted({REAL_YEAR} | {department_year(i)[0] for i in range(1, n)})
    by_year = {y: [i for i in range(1, n) if department_year(i)[0] == y] for y in years}

    # Rows of each fact resource as CSV text after "fiscal_year,department,", once per k, split
    # around the source_id cell.
    excerpts = {k: set() for k in ks}
    tails: dict[str, dict] = {}
    errata_money = _errata_money(resources["errata"].rows, resources)
    for res in resources.values():
        if not res.per_year:
            continue
        tails[res.name] = {"real": [_csv_line([r[c] for c in res.fields[2:]]) for r in res.rows]}
        for k in ks:
            lines = []
            for pos, row in enumerate(res.rows):
                money = errata_money[pos] if res.name == "errata" else row_money(row, res.money)
                scaled = _scaled_row(res, row, k, money, excerpts[k], real_text)
                lines.append(tuple(_csv_line([scaled[c] for c in res.fields[2:]]).split(SOURCE_SLOT)))
            tails[res.name][k] = lines

    # Synthetic sources, one per department-year; the archived text of factor k is every excerpt
    # rewritten for k, so each is a substring of it.
    digests = {}
    for k in ks:
        data = ("\n".join(sorted(excerpts[k])) + "\n").encode("utf-8")
        (out_dir / "archive" / f"synthetic-scale-{k}.txt").write_bytes(data)
        digests[k] = hashlib.sha256(data).hexdigest()
    source_rows = list(resources["sources"].rows)
    for i in range(1, n):
        y, dept, k = department_year(i)
        source_rows.append({
            "source_id": source_id(y, dept, k),
            "fiscal_year": str(y),
            "department": dept,
            "title_zh": f"合成数据（SYNTHETIC，非真实决算）：{dept} {y}年度，金额乘以{k}",
            "title_en": f"SYNTHETIC benchmark data, not real accounts: {dept} {y}, money figures multiplied by {k}",
            "publisher_zh": "bazhong-accounts 基准测试（合成数据）",
            "publisher_en": "bazhong-accounts benchmarks (synthetic data)",
            "period_start": f"{y}-01-01",
            "period_end": f"{y}-12-31",
            "path": f"archive/synthetic-scale-{k}.txt",
            "sha256": digests[k],
            "media_type": "text/plain; charset=utf-8",
            "note_en": f"SYNTHETIC, generated by benchmarks/synth.py for scale tests: every excerpt a row of the "
            f"real {REAL_YEAR} report quotes, with that row's money figures (万元) multiplied by {k}; "
            "percentages, counts and codes unchanged. Not a publication of any department.",
        })
    n_depts = len({department_year(i)[1] for i in range(1, n)})
    dept_rows = list(resources["departments"].rows)
    for d in range(n_depts):
        dept_rows.append({"department": f"synthetic-{d:05d}", "name_zh": f"合成部门{d:05d}（SYNTHETIC）",
                          "name_en": f"Synthetic department {d:05d}", "short_name_zh": "",
                          "region_zh": "合成数据", "region_en": "Synthetic data"})
    classification = [dict(r, fiscal_year=str(y)) for y in years for r in resources["classification"].rows
                      if r["fiscal_year"] == str(REAL_YEAR)]

    counts = {}
    for res in resources.values():
        path = out_dir / res.desc["path"]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(_csv_line(res.fields))
            if res.per_year:
                lines = tails[res.name]
                for y in years:
                    if y == REAL_YEAR:
                        fh.write("".join(f"{y},{REAL_DEPARTMENT}," + t for t in lines["real"]))
                    for i in by_year[y]:
                        _, dept, k = department_year(i)
                        prefix, src = f"{y},{dept},", source_id(y, dept, k)
                        fh.write("".join(prefix + a + src + b for a, b in lines[k]))
                counts[res.name] = len(lines["real"]) * n
            else:
                rows = {"sources": source_rows, "departments": dept_rows, "classification": classification,
                        # where the real report prints its figures: the synthetic reports are not located
                        "figure_sources": resources["figure_sources"].rows,
                        "non_figures": resources["non_figures"].rows}[res.name]
                rows = sorted(rows, key=lambda r: _typed_key(res.schema, r, res.pk))
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerows([r.get(c, "") for c in res.fields] for r in rows)
                counts[res.name] = len(rows)
    return counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("n", type=int, help="department-years, the real one included")
    args = p.parse_args(argv)
    try:
        counts = write_synthetic(args.out_dir, args.n)
    except (ValueError, FileExistsError) as e:
        print(f"synth: {e}", file=sys.stderr)
        return 1
    print(f"synth: wrote {args.out_dir}: {sum(counts.values())} rows in {len(counts)} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
