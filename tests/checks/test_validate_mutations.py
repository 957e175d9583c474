"""Mutation tests of `bazhong-accounts validate DIR`: each case breaks a copy of the real package
in one way and checks that the validator, run as a user runs it, exits 1 and names the file, line
(and column) with the right message. Rows to break are found by their content, not hard-coded, so
the tests follow the data as it changes.

The validator runs in this process through the CLI's main() (a subprocess costs two seconds of
start-up each); two cases keep the subprocess to hold the command-line contract: a clean run (exit
0) and a broken file with GITHUB_ACTIONS annotations (exit 1). The session fixture `mutation_groups` (conftest.py,
break_together below) prepares every bad input, breaks the ones that change different files
together in one copy and validates each such copy once; test_engines.py compares the SQL engines
on the same copies with the same pandas results. The module fixture `runs` gives each case its
run (a case its group's run does not report is validated again alone); each test then looks at
its own case's run (a case whose preparation failed fails its own test only).
"""

import codecs
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import Run, collected, made_once_shared, read_rows, write_rows, run_in_process

ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- reading and writing the copy


def edit(pkg: Path, name: str, pick, change):
    """Apply change(row) to the first row where pick(row) holds; returns (path, line, row)."""
    header, rows, lines = read_rows(pkg, name)
    i = next(i for i, r in enumerate(rows) if pick(r))
    change(rows[i])
    write_rows(pkg, name, header, rows)
    return f"data/{name}.csv", lines[i], rows[i]


def bump(text: str) -> str:
    """One unit more in the last printed decimal: 9.49 -> 9.50, 100 -> 101."""
    places = len(text.partition(".")[2])
    return f"{Decimal(text) + Decimal(1).scaleb(-places):.{places}f}"


def errata_keys(pkg: Path, check: str) -> set:
    return {(r["resource"], r["row_key"]) for r in read_rows(pkg, "errata")[1] if r["check"] == check}


def first_excerpt_digit(quote: str) -> int:
    m = re.search(r"[0-9]", quote)
    return m.start() if m else -1


SUMMARY = ("income", "expenditure_by_type", "three_public_expenses")

# ---------------------------------------------------------------- the bad inputs
# Each prepares a broken copy and returns (path, line or None, column or None, message fragment).

BAD = {}


def bad(fn):
    BAD[fn.__name__] = fn
    return fn


@bad
def utf8_bom(pkg):
    p = pkg / "data/departments.csv"
    p.write_bytes(codecs.BOM_UTF8 + p.read_bytes())
    return "data/departments.csv", 1, None, "byte order mark (BOM)"


@bad
def gbk_encoding(pkg):
    p = pkg / "data/overseas_trips.csv"
    text = p.read_text(encoding="utf-8")
    p.write_bytes(text.encode("gbk"))
    line = next(i for i, s in enumerate(text.split("\n"), 1) if any(ord(c) > 127 for c in s))
    return "data/overseas_trips.csv", line, None, "not UTF-8"


@bad
def crlf_line_endings(pkg):
    p = pkg / "data/sources.csv"
    p.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    return "data/sources.csv", 1, None, "CRLF"


@bad
def full_width_digits(pkg):
    fw = str.maketrans("0123456789.", "０１２３４５６７８９．")
    path, line, _ = edit(pkg, "income", lambda r: r["amount"], lambda r: r.update(amount=r["amount"].translate(fw)))
    return path, line, "amount", "full-width"


@bad
def thousands_separator(pkg):
    path, line, _ = edit(pkg, "income", lambda r: r["amount"] and Decimal(r["amount"]) >= 1000,
                         lambda r: r.update(amount=f"{Decimal(r['amount']):,}"))
    return path, line, "amount", "thousands separator"


@bad
def percent_sign(pkg):
    path, line, _ = edit(pkg, "three_public_expenses", lambda r: r["share_pct"],
                         lambda r: r.update(share_pct=r["share_pct"] + "%"))
    return path, line, "share_pct", "percent sign"


@bad
def unit_in_number(pkg):
    path, line, _ = edit(pkg, "income", lambda r: r["amount"] not in ("", "0"),
                         lambda r: r.update(amount=r["amount"] + "万元"))
    return path, line, "amount", "has a unit (万元)"


@bad
def missing_column(pkg):
    header, rows, _ = read_rows(pkg, "indicators")
    header.remove("unit_en")
    write_rows(pkg, "indicators", header, rows)
    return "data/indicators.csv", 1, "unit_en", "column missing"


@bad
def extra_column(pkg):
    header, rows, _ = read_rows(pkg, "three_public_expenses_counts")
    for r in rows:
        r["remark"] = "x"
    write_rows(pkg, "three_public_expenses_counts", header + ["remark"], rows)
    return "data/three_public_expenses_counts.csv", 1, "remark", "unexpected column"


@bad
def renamed_column(pkg):
    header, rows, _ = read_rows(pkg, "income")
    for r in rows:
        r["amt"] = r.pop("amount")
    write_rows(pkg, "income", ["amt" if h == "amount" else h for h in header], rows)
    return "data/income.csv", 1, "amt", "`amount` expected here (renamed?)"


@bad
def duplicate_key(pkg):
    header, rows, lines = read_rows(pkg, "glossary")
    rows.insert(1, dict(rows[0]))
    write_rows(pkg, "glossary", header, rows)
    return "data/glossary.csv", lines[1], "term_no", "duplicate primary key"


@bad
def unknown_classification_code(pkg):
    known = {r["code"] for r in read_rows(pkg, "classification")[1]}
    header, rows, lines = read_rows(pkg, "expenditure_by_function")
    i = next(i for i, r in enumerate(rows) if r["level"] == "3")
    new = next(rows[i]["parent_code"] + f"{n:02d}" for n in range(98, 0, -1)
               if rows[i]["parent_code"] + f"{n:02d}" not in known)
    rows[i]["code"] = new
    write_rows(pkg, "expenditure_by_function", header, rows)
    return "data/expenditure_by_function.csv", lines[i], "code", f"unknown code {new}"


def change_foreign_key(pkg: Path, resource: str, field: str, change) -> None:
    """change(reference) on the schema's foreign key of `field`."""
    p = pkg / "schemas" / f"{resource}.json"
    schema = json.loads(p.read_text(encoding="utf-8"))
    change(next(fk for fk in schema["foreignKeys"] if fk["fields"] == field)["reference"])
    p.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")


@bad
def foreign_keys_to_what_is_not_there(pkg):
    """Both in one schema: the engines compare both lines, and Spark reads one changed resource
    again, not two (test_engines_spark.py)."""
    change_foreign_key(pkg, "glossary", "department", lambda ref: ref.update(resource="department"))
    change_foreign_key(pkg, "glossary", "source_id", lambda ref: ref.update(fields="source_no"))
    return ("schemas/glossary.json", None, "source_id",
            "a foreign key refers to `source_no` of `sources`, not a field of its schema: "
            "that foreign key is not checked")


@bad
def negative_amount(pkg):
    path, line, _ = edit(pkg, "expenditure_by_type", lambda r: r["amount"] not in ("", "0"),
                         lambda r: r.update(amount="-" + r["amount"]))
    return path, line, "amount", "negative"


@bad
def non_numeric_amount(pkg):
    path, line, _ = edit(pkg, "three_public_expenses", lambda r: r["amount"], lambda r: r.update(amount="n/a"))
    return path, line, "amount", '"n/a" is not a number'


@bad
def empty_file(pkg):
    (pkg / "data/glossary.csv").write_bytes(b"")
    return "data/glossary.csv", None, None, "empty file"


@bad
def binary_file(pkg):
    (pkg / "data/errata.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return "data/errata.csv", None, None, "binary file, not a CSV"


@bad
def json_file(pkg):
    _, rows, _ = read_rows(pkg, "organisation")
    (pkg / "data/organisation.csv").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return "data/organisation.csv", 1, None, "not a CSV file"


@bad
def resource_file_missing(pkg):
    (pkg / "data/classification.csv").unlink()
    return "data/classification.csv", None, None, "file missing"


@bad
def unlisted_csv(pkg):
    (pkg / "data/notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    return "data/notes.csv", None, None, "not listed as a resource"


@bad
def ragged_row(pkg):
    p = pkg / "data/project_kpis.csv"
    _, _, lines = read_rows(pkg, "project_kpis")
    line = next(a for a, b in zip(lines, lines[1:]) if b == a + 1)  # a row on one line
    text = p.read_text(encoding="utf-8").split("\n")
    text[line - 1] += ",extra"
    p.write_text("\n".join(text), encoding="utf-8")
    return "data/project_kpis.csv", line, None, "ragged row"


@bad
def item_amount_changed(pkg):
    header, rows, lines = read_rows(pkg, "expenditure_by_function")
    i = next(i for i, r in enumerate(rows) if r["level"] == "3")
    rows[i]["amount"] = bump(rows[i]["amount"])
    write_rows(pkg, "expenditure_by_function", header, rows)
    parent = next(j for j, r in enumerate(rows) if r["code"] == rows[i]["parent_code"])
    return "data/expenditure_by_function.csv", lines[parent], "amount", "sum to"


def _summary_row(pkg, column, check):
    """(table, row index) of the first summary row with `column` whose break no erratum covers."""
    for name in SUMMARY:
        _, rows, _ = read_rows(pkg, name)
        for i, r in enumerate(rows):
            if r[column] and r["derived"] == "false" and (name, r["item_id"]) not in errata_keys(pkg, check):
                return name, i
    raise AssertionError(f"no summary row with {column} to break")


@bad
def share_changed(pkg):
    name, i = _summary_row(pkg, "share_pct", "share")
    header, rows, lines = read_rows(pkg, name)
    rows[i]["share_pct"] = bump(rows[i]["share_pct"])
    write_rows(pkg, name, header, rows)
    return f"data/{name}.csv", lines[i], "share_pct", "does not match amount / parent amount * 100"


@bad
def completion_rate_changed(pkg):
    covered = {k for _, k in errata_keys(pkg, "completion_rate")}
    path, line, _ = edit(pkg, "projects", lambda r: r["completion_pct"] and r["project_id"] not in covered,
                         lambda r: r.update(completion_pct=bump(r["completion_pct"])))
    return path, line, "completion_pct", "does not match executed / budget * 100"


@bad
def change_pct_changed(pkg):
    name, i = _summary_row(pkg, "change_pct", "change")  # no erratum can cover a change break
    header, rows, lines = read_rows(pkg, name)
    rows[i]["change_pct"] = bump(rows[i]["change_pct"])
    write_rows(pkg, name, header, rows)
    return f"data/{name}.csv", lines[i], "change_pct", "does not match change / prior-year amount * 100"


@bad
def quote_not_in_source(pkg):
    path, line, _ = edit(pkg, "indicators", lambda r: r["derived"] == "false",
                         lambda r: r.update(source_quote="并非原文：" + r["source_quote"]))
    return path, line, "source_quote", "is not in the archived source"


@bad
def value_not_in_quote(pkg):
    # keep only the words before the first figure of the quote: still verbatim, but without the value
    path, line, _ = edit(pkg, "indicators",
                         lambda r: r["derived"] == "false" and " … " not in r["source_quote"]
                         and first_excerpt_digit(r["source_quote"]) >= 2,
                         lambda r: r.update(source_quote=r["source_quote"][:first_excerpt_digit(r["source_quote"])]))
    return path, line, "value", "is not in its source_quote"


@bad
def derived_value_changed(pkg):
    for res in json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))["resources"]:
        header, rows, lines = read_rows(pkg, res["name"])
        col = "amount" if "amount" in header else "value" if "value" in header else None
        i = next((i for i, r in enumerate(rows) if col and r.get("derived") == "true" and r[col]), None)
        if i is not None:
            rows[i][col] = bump(rows[i][col])
            write_rows(pkg, res["name"], header, rows)
            return f"data/{res['name']}.csv", lines[i], col, f"derived {col}"
    raise AssertionError("no derived row in the package")


@bad
def archive_sha256_changed(pkg):
    def flip(r):
        r["sha256"] = ("0" if r["sha256"][0] != "0" else "1") + r["sha256"][1:]
    path, line, _ = edit(pkg, "sources", lambda r: True, flip)
    return path, line, "sha256", "SHA-256 of archive/"


@bad
def rows_out_of_key_order(pkg):
    header, rows, lines = read_rows(pkg, "events")
    rows[0], rows[1] = rows[1], rows[0]
    write_rows(pkg, "events", header, rows)
    return "data/events.csv", lines[0], None, "not in primary-key order"


@bad
def unneeded_quotes(pkg):
    p = pkg / "data/departments.csv"
    head, first, rest = p.read_text(encoding="utf-8").split("\n", 2)
    cells = first.split(",", 1)
    p.write_text("\n".join([head, f'"{cells[0]}",{cells[1]}', rest]), encoding="utf-8")
    return "data/departments.csv", 2, None, "not in canonical form"


@bad
def ordinal_renumbered(pkg):
    # the last trip numbered past the count: still a unique key, but no longer 1..n
    header, rows, lines = read_rows(pkg, "overseas_trips")
    i = max(range(len(rows)), key=lambda i: int(rows[i]["trip_no"]))
    rows[i]["trip_no"] = str(len(rows) + 5)
    write_rows(pkg, "overseas_trips", header, rows)
    return "data/overseas_trips.csv", lines[i], "trip_no", "numbers them 1..n"


@bad
def level_inconsistent_with_code(pkg):
    path, line, _ = edit(pkg, "expenditure_by_function", lambda r: r["level"] == "3", lambda r: r.update(level="2"))
    return path, line, "level", "does not fit code"


@bad
def erratum_other_value_changed(pkg):
    path, line, _ = edit(pkg, "errata", lambda r: r["value_other"] != "",
                         lambda r: r.update(value_other=str(Decimal(r["value_other"]) * 2)))
    return path, line, "value_other", "is not in quote_other"


@bad
def erratum_explanation_number_mistyped(pkg):
    # a figure changed in the Chinese explanation only (the English one keeps it): the first
    # decimal of the first erratum whose explanation cites one, not the row the case above edits
    def mistype(r):
        r["explanation_zh"] = re.sub(r"[0-9]+\.[0-9]+", lambda m: bump(m.group()), r["explanation_zh"], count=1)

    path, line, _ = edit(pkg, "errata",
                         lambda r: r["value_other"] == "" and re.search(r"[0-9]\.[0-9]", r["explanation_zh"]), mistype)
    return path, line, "explanation_zh", "cite different numbers: only in explanation_zh: "


# ---------------------------------------------------------------- scenarios beyond one bad input


def clean(pkg):
    return None


def errata_edited(pkg):
    """Drop the first erratum whose break is reported on its own row (that break must now fail),
    and add one for a share that adds up (nothing to explain: stale). Different rows, one run."""
    header, rows, _ = read_rows(pkg, "errata")
    i = next(i for i, r in enumerate(rows) if r["check"] in ("share", "completion_rate", "fiscal_plus_other"))
    gone = rows.pop(i)
    name, j = _summary_row(pkg, "share_pct", "share")
    target = read_rows(pkg, name)[1][j]
    rows.append(dict(rows[-1], erratum_id="zzz_stale_share", kind="share_rounding", resource=name,
                     row_key=target["item_id"], column="share_pct", check="share", value_carried=target["share_pct"],
                     value_other=target["share_pct"], quote_carried=target["source_quote"].split(" … ")[0]))
    write_rows(pkg, "errata", header, rows)
    _, broken, lines = read_rows(pkg, gone["resource"])
    key = next(k for k in ("item_id", "code", "project_id", "count_id", "metric_id") if k in broken[0])
    k = next(k for k, r in enumerate(broken) if r[key] == gone["row_key"] and r["fiscal_year"] == gone["fiscal_year"]
             and r["department"] == gone["department"])
    return {"gone": gone, "path": f"data/{gone['resource']}.csv", "line": lines[k],
            "stale_line": read_rows(pkg, "errata")[2][-1]}


def broken_schema(pkg):
    """A schema the checks cannot make sense of: a clear message and exit 1, never a traceback."""
    p = pkg / "schemas/income.json"
    schema = json.loads(p.read_text(encoding="utf-8"))
    schema["fields"][7]["type"] = 42
    p.write_text(json.dumps(schema), encoding="utf-8")


SCENARIOS = {**BAD, "clean": clean, "errata_edited": errata_edited, "broken_schema": broken_schema}
# The CLI contract, as a user runs it (a subprocess each): a clean run, a broken file with GitHub annotations.
SUBPROCESS = {"clean": {}, "negative_amount": {"GITHUB_ACTIONS": "true"}}


def snapshot(pkg: Path) -> dict[str, bytes]:
    return {p.relative_to(pkg).as_posix(): p.read_bytes() for p in pkg.rglob("*") if p.is_file()}


def changes(before: dict[str, bytes], pkg: Path) -> dict[str, bytes | None]:
    """Files the preparation changed: relative path -> new bytes, or None where it deleted one."""
    after = snapshot(pkg)
    return {rel: after.get(rel) for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}


def apply(changed: dict[str, bytes | None], pkg: Path) -> None:
    for rel, data in changed.items():
        if data is None:
            (pkg / rel).unlink()
        else:
            (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
            (pkg / rel).write_bytes(data)


def line_edits(before: bytes | None, after: bytes | None) -> dict[int, bytes] | None:
    """The lines a case rewrote in a file, by index, where it rewrote lines of rows in place (not
    the header, no line added or removed: the other lines keep their numbers); None for any other
    change (a file added, deleted or re-encoded, a header changed, rows added or removed)."""
    if before is None or after is None:
        return None
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(old) != len(new) or old[0] != new[0]:
        return None
    return {i: line for i, (a, line) in enumerate(zip(old, new)) if a != line}


def disjoint_groups(changed: dict[str, dict], base: dict[str, bytes]) -> list[list[str]]:
    """Cases in groups, first fit in case order, whose changes can all be made in one copy: each
    file changed by one case of the group, or rows of it rewritten in place by several, each its
    own lines (merged_files)."""
    groups: list[tuple[list[str], dict]] = []
    for name, files in changed.items():
        edits = {rel: line_edits(base.get(rel), data) for rel, data in files.items()}
        group = next((g for g in groups if _fits(edits, g[1])), None)
        if group is None:
            group = ([], {})
            groups.append(group)
        group[0].append(name)
        for rel in files:
            lines = edits[rel]
            group[1][rel] = None if lines is None else group[1].get(rel, set()) | lines.keys()
    return [names for names, _ in groups]


def _fits(edits: dict[str, dict | None], taken: dict[str, set[int] | None]) -> bool:
    """A case's edits can join a group that changed taken (file -> lines, None for all of it)."""
    return all(rel not in taken or (lines is not None and taken[rel] is not None and not taken[rel] & lines.keys())
               for rel, lines in edits.items())


def merged_files(names, changed: dict[str, dict], base: dict[str, bytes]) -> dict[str, bytes | None]:
    """The files of a copy broken by every case of names (a group of disjoint_groups): a file one
    case changed as it left it, a file several rewrote rows of with each case's lines."""
    out: dict[str, bytes | None] = {}
    for name in names:
        for rel, data in changed[name].items():
            if rel not in out:
                out[rel] = data
                continue
            lines = (out[rel] or b"").splitlines(keepends=True)
            for i, line in (line_edits(base[rel], data) or {}).items():
                lines[i] = line
            out[rel] = b"".join(lines)
    return out


def reported(run: Run, path, line, column, fragment) -> bool:
    prefix = path + (f":{line}" if line else "") + ": " + (f"{column}: " if column else "")
    return any(s.startswith(prefix) and fragment in s for s in run.stdout.splitlines())


def prepare(names, tmp, copy_package):
    """Each case broken in a copy of its own: (prepared copies, what each returned, the files each
    changed, the exceptions of the cases whose preparation failed, the files of the package)."""
    base = snapshot(copy_package(tmp.mktemp("base") / "package"))
    prepared, expected, changed, failed = {}, {}, {}, {}
    for name in names:
        pkg = copy_package(tmp.mktemp(name) / "package")
        try:
            expected[name] = SCENARIOS[name](pkg)
        except Exception as e:  # noqa: BLE001 - that case's test fails with it, the others run
            failed[name] = e
            continue
        prepared[name], changed[name] = pkg, changes(base, pkg)
    return prepared, expected, changed, failed, base


@dataclass
class Group:
    """Bad inputs that change different files, broken together in one copy, validated once."""

    cases: list[str]
    package: Path
    run: Run  # what `bazhong-accounts validate` printed
    result: object  # the pandas validator's Result of that run (test_engines.py compares with it)


@dataclass
class Broken:
    prepared: dict
    expected: dict
    changed: dict
    failed: dict
    groups: list[Group]


def break_together(tmp, copy_package) -> Broken:
    """Every bad input of BAD in its own copy, and the ones whose changes fit together broken
    together in a few copies (disjoint_groups), each validated once in this process (conftest's
    mutation_groups: test_engines.py compares the engines on the same copies, with the same pandas
    results). A break can hide another (a cell that is not a number, the share of its rows): the
    cases a group's run does not report at their place are broken together again, in further
    groups, while that reports more of them; so each case is compared between engines where its
    break shows."""
    prepared, expected, changed, failed, base = prepare(BAD, tmp, copy_package)
    groups: list[Group] = []
    pending = list(prepared)
    while pending:
        hidden = []
        for names in disjoint_groups({n: changed[n] for n in pending}, base):
            groups.append(validated_group(names, merged_files(names, changed, base), tmp, copy_package))
            hidden += [n for n in names if not reported(groups[-1].run, *expected[n])]
        pending = hidden if len(hidden) < len(pending) else []
    return Broken(prepared, expected, changed, failed, groups)


def validated_group(names, files: dict[str, bytes | None], tmp, copy_package) -> Group:
    pkg = copy_package(tmp.mktemp("group") / "package")
    apply(files, pkg)
    with collected() as results:
        run = run_in_process("validate", pkg)
    [result] = results
    return Group(names, pkg, Run(run.returncode, run.stdout, run.stderr, tuple(names)), result)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, copy_package, cli, request):
    """name -> Outcome, whose .result() is (what the preparation returned, Run). A validator run
    costs about a second, so the bad inputs that change different files are broken together in one
    copy and validated once (mutation_groups); a case whose problem that run does not report at
    its place (a break in one file can hide another, e.g. a missing FK target) is validated again
    alone, so every case is judged on a run of its own break at worst. Made once per run
    (made_once_shared): worksteal may split the module between workers."""
    return made_once_shared(tmp_path_factory, "mutation-runs", lambda: all_runs(
        tmp_path_factory, copy_package, cli, request.getfixturevalue("mutation_groups")))


def all_runs(tmp_path_factory, copy_package, cli, broken) -> dict[str, "Outcome"]:
    others = [n for n in SCENARIOS if n not in BAD]
    prepared, expected, _, failed, _ = prepare(others, tmp_path_factory, copy_package)
    prepared, expected, failed = broken.prepared | prepared, broken.expected | expected, broken.failed | failed

    def subprocess_run(name):
        env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"} | SUBPROCESS[name]
        # the clean run validates the checkout itself: `make test` relies on it (no validate line of its own)
        proc = cli("validate", ROOT if name == "clean" else prepared[name], env=env)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    # the subprocesses wait in threads, on the other core, while this process validates the rest
    with ThreadPoolExecutor(len(SUBPROCESS)) as pool:
        futures = {name: pool.submit(subprocess_run, name) for name in SUBPROCESS if name in prepared}
        out = in_process_runs(broken.groups, prepared, expected, skip=SUBPROCESS.keys())
        out |= {name: f.result() for name, f in futures.items()}
    return {name: Outcome(expected.get(name), out.get(name), failed.get(name)) for name in SCENARIOS}


def in_process_runs(groups, prepared, expected, skip) -> dict[str, Run]:
    """Each case's run: the first group's that reports it at its place, else a run of its own."""
    out = {}
    for group in groups:
        for name in group.cases:
            if name not in skip and name not in out and reported(group.run, *expected[name]):
                out[name] = group.run
    for name in prepared:
        if name not in out and name not in skip:
            out[name] = run_in_process("validate", prepared[name])
    return out


@dataclass
class Outcome:
    expected: object
    run: Run | None
    error: Exception | None

    def result(self):
        """(what the preparation returned, the run), or the preparation's own exception."""
        if self.error is not None:
            raise self.error
        return self.expected, self.run


def lines_of(proc):
    return proc.stdout.splitlines()


def assert_reported(proc, path, line, column, fragment):
    prefix = path + (f":{line}" if line else "") + ": " + (f"{column}: " if column else "")
    hits = [s for s in lines_of(proc) if s.startswith(prefix)]
    together = f" (broken together with {', '.join(proc.cases)})" if proc.cases else ""
    assert hits, f"nothing reported at {prefix!r}{together}:\n{proc.stdout}{proc.stderr}"
    assert any(fragment in s for s in hits), f"{prefix!r} reported without {fragment!r}:\n" + "\n".join(hits)


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize("name", BAD)
def test_bad_input_is_reported_at_its_place(name, runs):
    (path, line, column, fragment), proc = runs[name].result()
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "internal error" not in proc.stdout + proc.stderr, proc.stdout  # every check ran to its end
    assert_reported(proc, path, line, column, fragment)
    assert re.fullmatch(r"\d+ problems?, .*", lines_of(proc)[-1]), lines_of(proc)[-1]


def test_clean_package_validates(runs):
    _, proc = runs["clean"].result()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "internal error" not in proc.stdout
    n = len(json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["resources"])
    assert lines_of(proc)[-1].startswith(f"OK: {n} resources, "), proc.stdout
    assert "::error" not in proc.stdout  # annotations only under GitHub Actions


def test_errata_covered_breaks_are_known_not_problems(runs, copy_package, tmp_path):
    _, proc = runs["clean"].result()
    errata = read_rows(copy_package(tmp_path / "p"), "errata")[1]
    with_check = [e for e in errata if e["check"] != "none"]
    assert with_check, "the package has no erratum with a check to exercise"
    known = [s for s in lines_of(proc) if s.startswith("known: ")]
    for e in with_check:
        assert any(s.endswith(f"(erratum {e['erratum_id']})") for s in known), (e["erratum_id"], proc.stdout)
    assert f"{len(known)} known errata" in lines_of(proc)[-1]
    assert proc.returncode == 0


def test_removing_an_erratum_makes_its_break_fail(runs):
    edit, proc = runs["errata_edited"].result()
    gone, path, line = edit["gone"], edit["path"], edit["line"]
    assert proc.returncode == 1, proc.stdout
    column = {"share": "share_pct", "completion_rate": "completion_pct"}.get(gone["check"])
    problems = [s for s in lines_of(proc) if s.startswith(f"{path}:{line}: ")]
    assert problems, proc.stdout
    if column:
        assert any(s.startswith(f"{path}:{line}: {column}: ") for s in problems), problems
    assert not any(f"(erratum {gone['erratum_id']})" in s for s in lines_of(proc))


def test_an_erratum_without_a_break_is_stale(runs):
    edit, proc = runs["errata_edited"].result()
    assert_reported(proc, "data/errata.csv", edit["stale_line"], "check", "stale erratum zzz_stale_share")


def test_github_actions_annotations(runs):
    (path, line, column, _), proc = runs["negative_amount"].result()
    assert proc.returncode == 1
    col = (ROOT / path).read_text(encoding="utf-8").split("\n", 1)[0].split(",").index(column) + 1
    annotation = f"::error file={path},line={line},col={col}::{column}: "
    assert any(s.startswith(annotation) for s in lines_of(proc)), proc.stdout
    assert any(s.startswith("::notice file=") and "known erratum" in s for s in lines_of(proc)), proc.stdout
    assert not lines_of(proc)[-1].startswith("::"), "the summary stays the last line"


def test_a_crashing_check_is_a_message_not_a_traceback(runs):
    _, proc = runs["broken_schema"].result()
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "internal error" in proc.stdout or "problem" in lines_of(proc)[-1], proc.stdout
