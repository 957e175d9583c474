"""The synthetic scale-test package (benchmarks/synth.py): valid for both validators, identities exact,
money scaled by k, provenance checkable and marked synthetic, and a broken cell is caught."""

import csv
import hashlib
import json
import re
import shutil
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from frictionless import Package

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import duckdb_identities  # noqa: E402
from synth import department_year, source_id, write_synthetic  # noqa: E402

from conftest import run_in_process  # noqa: E402
REAL = (2018, "bazhong-govt-office")


@pytest.fixture(scope="module")
def pkg10(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "n10"
    write_synthetic(out, 10)
    return out


@pytest.fixture(scope="module")
def pkg3(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "n3"
    write_synthetic(out, 3)
    return out


def resources(pkg):
    dp = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    return {r["name"]: {**r, "schema": json.loads((pkg / r["schema"]).read_text(encoding="utf-8"))}
            for r in dp["resources"]}


def read(pkg, name):
    with open(pkg / "data" / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def by_dept_year(rows):
    out = defaultdict(list)
    for r in rows:
        out[(int(r["fiscal_year"]), r["department"])].append(r)
    return out


def dec(cell):
    return Decimal(cell) if cell else None


# ---------------------------------------------------------------- shape


def test_descriptor_schemas_and_real_archive_are_copied_unchanged(pkg10):
    assert (pkg10 / "datapackage.json").read_bytes() == (ROOT / "datapackage.json").read_bytes()
    for p in (ROOT / "schemas").glob("*.json"):
        assert (pkg10 / "schemas" / p.name).read_bytes() == p.read_bytes(), p.name
    for p in (ROOT / "archive").iterdir():
        assert (pkg10 / "archive" / p.name).read_bytes() == p.read_bytes(), p.name


def test_n_department_years_every_fact_table_and_the_real_one_kept(pkg10):
    expected = {REAL} | {department_year(i)[:2] for i in range(1, 10)}
    assert len(expected) == 10
    for name, res in resources(pkg10).items():
        if "source_quote" not in {f["name"] for f in res["schema"]["fields"]}:
            continue
        rows = by_dept_year(read(pkg10, name))
        assert set(rows) == expected, name
        real = read(ROOT, name)
        assert rows[REAL] == real, f"{name}: the real department-year changed"
        assert all(len(v) == len(real) for v in rows.values()), name
    # classification: the 2018 codes again for every fiscal year used
    codes = defaultdict(set)
    for r in read(pkg10, "classification"):
        codes[int(r["fiscal_year"])].add(r["code"])
    assert set(codes) == {y for y, _ in expected}
    assert len({frozenset(c) for c in codes.values()}) == 1


def test_csvs_are_canonical(pkg10):
    """UTF-8 without BOM, LF, schema column order, rows in typed primary-key order."""
    proc = run_in_process("fmt", "--check", pkg10)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name, res in resources(pkg10).items():
        raw = (pkg10 / res["path"]).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw, name
        fields = res["schema"]["fields"]
        types = {f["name"]: f["type"] for f in fields}
        pk = res["schema"]["primaryKey"]
        pk = [pk] if isinstance(pk, str) else pk
        rows = read(pkg10, name)
        assert list(rows[0]) == [f["name"] for f in fields], name
        keys = [tuple(int(r[c]) if types[c] == "integer" else Decimal(r[c]) if types[c] == "number" else r[c]
                      for c in pk) for r in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), name


# ---------------------------------------------------------------- scaling and identities


def test_money_is_scaled_by_k_and_nothing_else_changes(pkg10):
    real = {r["item_id"]: r for r in read(ROOT, "three_public_expenses")}
    rows = by_dept_year(read(pkg10, "three_public_expenses"))
    for i in range(1, 10):
        fy, dept, k = department_year(i)
        for r in rows[(fy, dept)]:
            base = real[r["item_id"]]
            for col in ("amount", "prior_year_amount", "change_amount"):
                assert dec(r[col]) == (dec(base[col]) * k if base[col] else None), (i, col)
            for col in ("share_pct", "budget_completion_pct", "change_pct", "name_zh", "source_section"):
                assert r[col] == base[col], (i, col)
            assert r["source_id"] == source_id(fy, dept, k)
    # indicators: only the 万元 rows scale; counts do not
    real_ind = {r["metric_id"]: r for r in read(ROOT, "indicators")}
    fy, dept, k = department_year(7)
    assert k != 1
    for r in by_dept_year(read(pkg10, "indicators"))[(fy, dept)]:
        base = real_ind[r["metric_id"]]
        factor = k if base["unit_zh"] == "万元" else 1
        assert dec(r["value"]) == dec(base["value"]) * factor, r["metric_id"]


def _parts_sums(rows):
    """{(parent, breakdown): children sum == parent amount} of a summary-shaped table."""
    amount = {r["item_id"]: dec(r["amount"]) for r in rows}
    parts = defaultdict(Decimal)
    for r in rows:
        if r["parent_item_id"]:
            parts[(r["parent_item_id"], r["breakdown"])] += dec(r["amount"])
    return {key: total == amount[key[0]] for key, total in parts.items()}


def test_identities_hold_exactly_in_every_department_year(pkg10):
    inc = by_dept_year(read(pkg10, "income"))
    ebt = by_dept_year(read(pkg10, "expenditure_by_type"))
    ebf = by_dept_year(read(pkg10, "expenditure_by_function"))
    tpe = by_dept_year(read(pkg10, "three_public_expenses"))
    prj = by_dept_year(read(pkg10, "projects"))
    real_parts = {name: _parts_sums(rows[REAL]) for name, rows in (("income", inc), ("ebt", ebt), ("tpe", tpe))}
    assert all(real_parts.values()) and any(any(v.values()) for v in real_parts.values())
    for key in ebt:
        amount = {r["item_id"]: dec(r["amount"]) for r in ebt[key]}
        income = {r["item_id"]: dec(r["amount"]) for r in inc[key]}
        # 类 rows sum to 一般公共预算财政拨款支出; 项 to 款 and 款 to 类
        classes = [dec(r["amount"]) for r in ebf[key] if r["level"] == "1"]
        assert sum(classes) == amount["gpb_total"], key
        code_amount = {r["code"]: dec(r["amount"]) for r in ebf[key]}
        children = defaultdict(Decimal)
        for r in ebf[key]:
            if r["parent_code"]:
                children[r["parent_code"]] += dec(r["amount"])
        assert children and all(code_amount[c] == s for c, s in children.items()), key
        # the derived row: year-end carry-over = income total - expenditure total
        assert amount["year_end_carryover"] == income["total"] - amount["total"], key
        # parts sum to their parent exactly where they do in the real report (errata stay errata)
        for name, rows in (("income", inc), ("ebt", ebt), ("tpe", tpe)):
            assert _parts_sums(rows[key]) == real_parts[name], (name, key)
        # projects: fiscal + other = total, same pattern as the real report
        for r, base in zip(prj[key], prj[REAL], strict=False):
            for total, a, b in (("budget", "budget_fiscal", "budget_other"),
                                ("executed", "executed_fiscal", "executed_other")):
                assert (dec(r[a]) + dec(r[b]) == dec(r[total])) == (dec(base[a]) + dec(base[b]) == dec(base[total]))


def test_duckdb_identities_hold_with_every_erratum_known(pkg10):
    unexplained, known = duckdb_identities.check(pkg10)
    assert unexplained == []
    real_unexplained, real_known = duckdb_identities.check(ROOT)
    assert real_unexplained == [] and real_known
    # each department-year shows the real year's known breaks, no more, no fewer
    per_key = defaultdict(set)
    for resource, fy, dept, row_key, check, _ in known:
        per_key[(fy, dept)].add((resource, row_key, check))
    real = {(b[0], b[3], b[4]) for b in real_known}
    assert len(per_key) == 10 and all(v == real for v in per_key.values())


def test_duckdb_identities_catch_a_broken_share_and_sum(pkg3, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(pkg3, broken)
    rows = read(broken, "expenditure_by_type")
    fy, dept, _ = department_year(1)
    target = next(r for r in rows if (int(r["fiscal_year"]), r["department"]) == (fy, dept) and r["share_pct"])
    target["share_pct"] = str(Decimal(target["share_pct"]) + Decimal("0.5"))
    target["amount"] = str(Decimal(target["amount"]) + 1)
    with open(broken / "data" / "expenditure_by_type.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    unexplained, _ = duckdb_identities.check(broken)
    found = {(b[1], b[2], b[3], b[4]) for b in unexplained}
    assert (fy, dept, target["item_id"], "share") in found
    assert (fy, dept, target["parent_item_id"], "parts_sum") in found


def test_errata_replicated_and_scaled_where_money(pkg10):
    real = {r["erratum_id"]: r for r in read(ROOT, "errata")}
    rows = by_dept_year(read(pkg10, "errata"))
    fy, dept, k = department_year(5)
    got = {r["erratum_id"]: r for r in rows[(fy, dept)]}
    assert set(got) == set(real)
    money = got["emergency_drills_budget_text_vs_table"]  # projects.budget: money
    assert dec(money["value_carried"]) == dec(real["emergency_drills_budget_text_vs_table"]["value_carried"]) * k
    share = got["housing_share_rounding"]  # a percentage: unchanged
    assert share["value_carried"] == real["housing_share_rounding"]["value_carried"]


# ---------------------------------------------------------------- provenance


def test_provenance_valid_and_marked_synthetic(pkg10):
    sources = {r["source_id"]: r for r in read(pkg10, "sources")}
    departments = {r["department"]: r for r in read(pkg10, "departments")}
    texts = {}
    for sid, s in sources.items():
        data = (pkg10 / s["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == s["sha256"], sid
        texts[sid] = data.decode("utf-8")
        if sid != "bazhong-govt-office-2018-final-accounts":
            assert "SYNTHETIC" in s["title_en"] and "SYNTHETIC" in s["note_en"], sid
            assert s["path"] == f"archive/synthetic-scale-{sid.rsplit('-', 1)[1]}.txt", sid
            assert "SYNTHETIC" in departments[s["department"]]["name_zh"], sid
    expected = {"bazhong-govt-office-2018-final-accounts"} | {source_id(*department_year(i)) for i in range(1, 10)}
    assert set(sources) == expected
    for name, res in resources(pkg10).items():
        fields = res["schema"]["fields"]
        if "source_quote" not in {f["name"] for f in fields}:
            continue
        numeric = [f["name"] for f in fields if f["role"] == "figure"]  # as the schema declares
        for line, r in enumerate(read(pkg10, name), start=2):
            # the row cites the report of its own department-year
            s = sources[r["source_id"]]
            assert (s["fiscal_year"], s["department"]) == (r["fiscal_year"], r["department"]), (name, line)
            for excerpt in r["source_quote"].split(" … "):
                assert excerpt in texts[r["source_id"]], (name, line, excerpt[:40])
            if r["derived"] == "true":
                continue
            printed = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", r["source_quote"])}
            counted = re.findall(r"([一二三十])(?=[年项件位次])", r["source_quote"])  # 连续三年, 十项
            printed |= {Decimal("〇一二三四五六七八九十".index(c)) for c in counted}
            for col in numeric:
                assert not r[col] or abs(Decimal(r[col])) in printed, (name, line, col, r[col])


def test_refuses_to_overwrite_a_directory_it_did_not_write(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_synthetic(tmp_path, 2)
    assert (tmp_path / "keep.txt").read_text() == "mine"


# ---------------------------------------------------------------- the validators


def test_frictionless_validates_the_synthetic_package(pkg3):
    report = Package(str(pkg3 / "datapackage.json")).validate()
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "note"])[:10]


def number(value):
    """The whole number token `value` (not part of a longer number)."""
    return re.compile(rf"(?<![\d.]){re.escape(value)}(?![\d.])")


def physical_lines(path):
    """File line on which each data row starts (quotes may span lines)."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        out, start = [], 2
        for _ in reader:
            out.append(start)
            start = reader.line_num + 1
        return out


def validate(pkg):
    return run_in_process("validate", pkg)


def test_bazhong_validate_passes_and_reports_the_known_errata(pkg10, validated_root):
    proc = validate(pkg10)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    real = validated_root
    assert real.returncode == 0
    real_known = re.findall(r"^known: .*\(erratum (\w+)\)$", real.stdout + real.stderr, re.M)
    assert real_known
    # every department-year shows the real year's known breaks: same errata, found on its own rows
    seen = defaultdict(list)
    for path, line, erratum in re.findall(r"^known: (data/\w+\.csv):(\d+): .*\(erratum (\w+)\)$", out, re.M):
        rows = read(pkg10, Path(path).stem)
        row = rows[physical_lines(pkg10 / path).index(int(line))]
        seen[(int(row["fiscal_year"]), row["department"])].append(erratum)
    assert len(seen) == 10, out[-2000:]
    assert all(sorted(v) == sorted(real_known) for v in seen.values()), seen


def test_a_broken_synthetic_cell_fails_validation_naming_file_and_line(pkg3, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(pkg3, broken)
    path = broken / "data" / "expenditure_by_function.csv"
    rows = read(broken, "expenditure_by_function")
    fy, dept, _ = department_year(2)
    # a 项 amount off by 0.01, its quote edited to match: only the 款 = sum(项) identity breaks
    n, row = next((n, r) for n, r in enumerate(rows) if (int(r["fiscal_year"]), r["department"]) == (fy, dept)
                  and r["level"] == "3" and r["derived"] == "false" and number(r["amount"]).search(r["source_quote"]))
    new = str(Decimal(row["amount"]) + Decimal("0.01"))
    row["source_quote"] = number(row["amount"]).sub(new, row["source_quote"])
    row["amount"] = new
    text = path.read_text(encoding="utf-8")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    assert path.read_text(encoding="utf-8") != text
    # the excerpt changed, so the synthetic source must hold it too: only the identity breaks
    _, _, k = department_year(2)
    src = broken / "archive" / f"synthetic-scale-{k}.txt"  # shared by every source of factor k
    data = src.read_bytes() + ("\n".join(row["source_quote"].split(" … ")) + "\n").encode("utf-8")
    src.write_bytes(data)
    srows = read(broken, "sources")
    for s in srows:
        if s["path"] == f"archive/synthetic-scale-{k}.txt":
            s["sha256"] = hashlib.sha256(data).hexdigest()
    with open(broken / "data" / "sources.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, list(srows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(srows)

    proc = validate(broken)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "Traceback" not in out
    lines = physical_lines(path)
    line = lines[n]
    parent_line = next(lines[m] for m, r in enumerate(rows) if (int(r["fiscal_year"]), r["department"]) == (fy, dept)
                       and r["code"] == row["parent_code"])
    problems = [x for x in out.splitlines() if x.startswith("data/")]
    assert len(problems) == 1, out[-3000:]
    # the 项 row or the derived 款 row above it, as path:line: column: message
    assert re.match(rf"data/expenditure_by_function\.csv:({line}|{parent_line}): amount: ", problems[0]), problems
