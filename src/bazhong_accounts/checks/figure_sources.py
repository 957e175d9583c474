"""Check (f): every figure located in the report, every number of the report accounted for.

`figure_sources` holds one row per printed occurrence of a figure cell: `text[start:end] ==
printed`, offsets into the archived source decoded as UTF-8. `non_figures` lists the numbers of
the report that are not figures (years, dates, heading numbers …) with the reason. The checks:

- each span: inside the text, `text[start:end] == printed`, and `printed` states the cell's value
  (sign from 增加/减少/降低/下降, unit 万元/亿元/% against the cell's unit); a span that states
  another value is allowed only when an erratum of that cell gives it as value_carried/value_other;
- each span names an existing, non-derived figure cell; every non-derived figure cell of a fact
  table (a resource with figures and a `derived` column) has at least one span;
- each excerpt of the row's `source_quote` lies in the passage around one of the row's spans;
- every number the scanner finds in the archived text (`numbers_in`) is covered by a figure span
  or a non-figure; otherwise a problem at the source's line and column.

The last two rules apply to the reports that are located, i.e. have at least one figure_sources
row; `validate` names the reports not located yet in its summary.

Everything is one pass over the spans plus one scan of each archived text: O(spans + text).
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from ..lazy import lazy

if TYPE_CHECKING:
    import numpy as np
else:  # imported when first used: not before the checks start
    np = lazy("numpy")

# ---------------------------------------------------------------- what counts as a number

# Arabic and full-width digits, with a decimal part.
ARABIC = r"[0-9０-９]+(?:[.．][0-9０-９]+)?"
CN_DIGITS = "一二三四五六七八九十两百千"
# Chinese numerals the report uses as counts, ranks or ordinals: after 第, inside （…）, or before a
# classifier / 是 (一是, 二是) / 、 (heading 一、) / 大 (十九大). A bare 一 inside a word (统一,
# 进一步, 一般) is not followed by one of these and is not a number.
CLASSIFIERS = "年项件个位次期名届条批篇家人辆户处场级是、大"
CHINESE = (rf"(?<=第)[{CN_DIGITS}]+|(?<=（)[{CN_DIGITS}]+(?=）)"
           rf"|[{CN_DIGITS}]+(?=[{CLASSIFIERS}])")
NUMBER = re.compile(rf"{ARABIC}|{CHINESE}")

SIGN_WORDS = {"增加": 1, "增长": 1, "减少": -1, "下降": -1, "降低": -1}
UNITS = ("万元", "亿元", "%")
# the sign word and the number may stand apart by the layout's white space (减少 2.89 in a PDF)
PRINTED = re.compile(rf"^(?:(?P<sign>{'|'.join(SIGN_WORDS)})\s*)?(?P<num>{ARABIC}|[{CN_DIGITS}零]+)"
                     rf"(?P<unit>\s?(?:{'|'.join(map(re.escape, UNITS))}))?$")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_CN_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_CN_SCALE = {"十": 10, "百": 100, "千": 1000}


def numbers_in(text: str):
    """(start, end) of every number of the text, in order."""
    return [(m.start(), m.end()) for m in NUMBER.finditer(text)]


def chinese_value(s: str) -> int:
    """三 -> 3, 十 -> 10, 十九 -> 19, 二十 -> 20, 一百零八 -> 108."""
    total, digit = 0, 0
    for ch in s:
        if ch in _CN_SCALE:
            total += (digit or 1) * _CN_SCALE[ch]
            digit = 0
        else:
            digit = _CN_VALUE[ch]
    return total + digit


def with_chinese_numerals(quote: str) -> str:
    """The quote followed by the Arabic value of each Chinese numeral it prints as a number
    (连续三年 -> "… 3"), so that a figure printed in words is found in its quote."""
    extra = [str(chinese_value(m.group())) for m in re.finditer(CHINESE, quote)]
    return quote + (" " + " ".join(extra) if extra else "")


@dataclass
class Printed:
    value: Decimal
    unit: str | None  # 万元, 亿元, % or None


def parse_printed(printed: str) -> Printed | None:
    """What a span states: 减少2.89万元 -> -2.89 万元; 降低13.9% -> -13.9 %; 三 -> 3. None when the
    text is not one number (with an optional sign word before and a unit after)."""
    m = PRINTED.match(printed)
    if not m:
        return None
    num = m.group("num")
    try:
        value = Decimal(num.translate(_FULL_WIDTH)) if num[0] not in CN_DIGITS + "零" else Decimal(chinese_value(num))
    except (InvalidOperation, KeyError):
        return None
    if m.group("sign"):
        value *= SIGN_WORDS[m.group("sign")]
    unit = m.group("unit").strip() if m.group("unit") else None
    return Printed(value, unit)


def in_unit(p: Printed, unit: str | None) -> Decimal | None:
    """The printed value in the cell's unit (亿元 -> 万元 × 10000); None when the units differ
    otherwise (a percentage printed for an amount)."""
    if p.unit is None or unit is None or p.unit == unit:
        return p.value
    if (p.unit, unit) == ("亿元", "万元"):
        return p.value * 10000
    if (p.unit, unit) == ("万元", "亿元"):
        return p.value / 10000
    return None


# ---------------------------------------------------------------- the checks

UNCLASSIFIED = "unclassified"  # the non_figures reason of a number no one has classified yet
PASSAGE = 300  # an excerpt of source_quote must start within this many characters of a span


def _is_fact_table(t) -> bool:
    """A resource whose rows carry figures of the report and say whether they are derived."""
    return is_fact_schema(t.schema)


def is_fact_schema(schema: dict) -> bool:
    from ..model import roles

    return bool(roles.figures(schema)) and "derived" in roles.with_role(schema, "provenance")


def _described_unit(field: dict) -> str | None:
    """The unit a figure field's description gives (`Unit: 万元`, `Unit: percent`), if any."""
    desc = field.get("description", "")
    if "Unit: 万元" in desc:
        return "万元"
    if "Unit: percent" in desc:
        return "%"
    return None


# what the checks below read of each resource that is not a fact table: (columns, of them those
# read as numbers, through usable())
READ = {"figure_sources": (("resource", "fiscal_year", "department", "row_key", "column", "source_id", "start", "end",
                            "printed"), ("start", "end")),
        "non_figures": (("source_id", "start", "end", "printed", "reason"), ("start", "end")),
        "errata": (("fiscal_year", "department", "resource", "row_key", "column", "value_carried", "value_other"),
                   ("value_carried", "value_other"))}


def columns_read(name: str, schema: dict) -> tuple[list[str], list[str]]:
    """(the columns these checks read of a resource, those of them read as numbers): what an
    engine that hands them only some columns must keep (checks/engines/figure_sources_sql.py),
    but a fact table's unit categories (unit_categories)."""
    from ..model import roles

    if name in READ:
        columns, numbers = READ[name]
        return list(columns), list(numbers)
    if not is_fact_schema(schema):
        return [], []
    figures = roles.figures(schema)
    fields = {f["name"]: f for f in schema["fields"]}
    read = [*roles.scope(schema), *roles.row_key_fields(schema), "derived", "source_id",
            *(["source_quote"] if "source_quote" in fields else []), *figures]
    return list(dict.fromkeys(read)), figures


def left_out(resources, report) -> set[str]:
    """The resources (name, CSV path, schema) whose schema lacks a column these checks read (a
    schema that dropped it together with the file's column: the header check finds nothing),
    each such column reported once at the file's header line. The engines leave them out of the
    check rather than fail on them or pass them silently: a fact table's figures go unchecked,
    and without all of figure_sources, non_figures or errata the check does not run."""
    out = set()
    for name, path, schema in resources:
        fields = {f["name"] for f in schema["fields"]}
        for column in (c for c in columns_read(name, schema)[0] if c not in fields):
            out.add(name)
            fact = name not in READ
            report.add(path, 1, column, f"column missing: check (f), figure sources, reads it in "
                       f"{'every fact table' if fact else name}; add it to the schema and the file (until then "
                       f"{'the figures of ' + name + ' are not checked' if fact else 'check (f) does not run'})",
                       dedupe=True)
    return out


def _line_col(text: str, pos: int, line_starts: list[int]) -> tuple[int, int]:
    """1-based line and column of text[pos]."""
    i = bisect_right(line_starts, pos) - 1
    return i + 1, pos - line_starts[i] + 1


def _cells(tables: dict):
    """(resource, fiscal_year, department, row_key) -> (table, row index), every fact-table row."""
    from ..model import roles

    out = {}
    for t in tables.values():
        if not _is_fact_table(t):
            continue
        fields = roles.row_key_fields(t.schema)
        keys = [t.col(f) for f in fields]
        fy, dept = t.col("fiscal_year"), t.col("department")
        for r in range(len(t)):
            out[(t.name, fy[r], dept[r], roles.ROW_KEY_SEPARATOR.join(k[r] for k in keys))] = (t, r)
    return out


def _errata_values(errata) -> dict:
    """(fiscal_year, department, resource, row_key, column) -> the values an erratum gives."""
    out: dict = {}
    if errata is None:
        return out
    for r in range(len(errata)):
        key = tuple(errata.col(c)[r] for c in ("fiscal_year", "department", "resource", "row_key", "column"))
        for c in ("value_carried", "value_other"):
            if errata.usable(c)[r]:
                out.setdefault(key, set()).add(Decimal(errata.col(c)[r]))
    return out


def _cell_unit(t, r: int, column: str) -> str | None:
    """The unit the cell is in: its field's description (`Unit: 万元`, `Unit: percent`) or the
    row's unit category (indicators unit_zh = 亿元)."""
    described = _described_unit(t.fields[column])
    if described:
        return described
    return t.row_unit(r) if hasattr(t, "row_unit") else row_unit(t, r)  # an SQL engine's rows: those it has


def row_unit(t, r: int, names: list[str] | None = None) -> str | None:
    """The row's unit: the first of its unit categories (or of `names`) holding 万元, 亿元 or %."""
    for name in unit_categories(t.schema) if names is None else names:
        if t.col(name)[r] in UNITS:
            return t.col(name)[r]
    return None


def unit_categories(schema: dict) -> list[str]:
    """The category fields a figure's unit is read from (row_unit), where the description of some
    figure field gives none."""
    from ..model import roles

    fields = {f["name"]: f for f in schema["fields"]}
    if all(_described_unit(fields[c]) for c in roles.figures(schema)):
        return []
    return roles.with_role(schema, "category")


class _Context:
    def __init__(self, tables: dict, texts: dict[str, str], skipped: Collection[str]):
        self.tables, self.texts, self.skipped = tables, texts, skipped
        self.cells = _cells(tables)
        self.errata = _errata_values(tables.get("errata"))
        self.spans_of: dict = {}  # (resource, fiscal_year, department, row_key) -> [(start, end)]
        self.covered: dict[str, list[tuple[int, int]]] = {}  # source_id -> spans and non-figures
        self.located: set[str] = set()  # reports with at least one figure_sources row
        self.unclassified: set[tuple[str, int, int]] = set()  # non_figures drafts without a reason yet
        self.line_starts = {sid: [0] + [m.end() for m in re.finditer("\n", text)] for sid, text in texts.items()}


def _check_span(ctx: _Context, fs, r: int, report) -> None:
    """One row of figure_sources: the characters, the value, the cell."""
    res, key, col, sid = (fs.col(c)[r] for c in ("resource", "row_key", "column", "source_id"))
    fy, dept = fs.col("fiscal_year")[r], fs.col("department")[r]
    line = int(fs.lines[r])
    text = ctx.texts.get(sid)
    if text is None:
        return  # unknown source: the foreign key check says so
    start, end, printed = int(fs.col("start")[r]), int(fs.col("end")[r]), fs.col("printed")[r]
    if not 0 <= start < end <= len(text):
        report.add(fs.path, line, "end", f"span {start}..{end} is outside the source text ({len(text)} characters)",
                   col_no=fs.col_no("end"))
        return
    if text[start:end] != printed:
        report.add(fs.path, line, "printed", f"the source has «{text[start:end]}» at {start}..{end}, not «{printed}» "
                   f"(line {_line_col(text, start, ctx.line_starts[sid])[0]} of {sid})", col_no=fs.col_no("printed"))
        return
    ctx.covered.setdefault(sid, []).append((start, end))
    where = ctx.cells.get((res, fy, dept, key))
    if where is None and res in ctx.skipped:
        return  # a fact table left out (left_out): its missing column is the one problem
    if where is None:
        report.add(fs.path, line, "row_key", f"no row `{key}` of {fy} {dept} in `{res}` (a fact table)",
                   col_no=fs.col_no("row_key"))
        return
    t, row = where
    if col not in t.fields or t.fields[col].get("role") != "figure":
        report.add(fs.path, line, "column", f"`{col}` is not a figure column of `{res}`", col_no=fs.col_no("column"))
        return
    if t.col("derived")[row] == "true":
        report.add(fs.path, line, "row_key", f"{res} {key} is derived: its rule is its provenance, it has no span",
                   col_no=fs.col_no("row_key"))
        return
    ctx.spans_of.setdefault((res, fy, dept, key), []).append((start, end))
    _check_value(ctx, fs, r, t, row, (res, key, col), printed, report, ctx.errata.get((fy, dept, res, key, col), ()))


def _check_value(ctx: _Context, fs, r: int, t, row: int, cell: tuple, printed: str, report, errata_values) -> None:
    line = int(fs.lines[r])
    p = parse_printed(printed)
    if p is None:
        report.add(fs.path, line, "printed", f"«{printed}» is not one number (with 增加/减少… before and "
                   "万元/亿元/% after)", col_no=fs.col_no("printed"))
        return
    carried = t.col(cell[2])[row]
    if carried != "" and not t.usable(cell[2])[row]:
        return  # not a number: the type check reports the cell
    if carried == "":
        report.add(fs.path, line, "column", f"{cell[0]} {cell[1]} `{cell[2]}` is empty but «{printed}» is located "
                   "as its figure", col_no=fs.col_no("column"))
        return
    stated = in_unit(p, _cell_unit(t, row, cell[2]))
    if stated is None:
        report.add(fs.path, line, "printed", f"«{printed}» is in {p.unit}, but {cell[0]} `{cell[2]}` is in "
                   f"{_cell_unit(t, row, cell[2])}", col_no=fs.col_no("printed"))
    elif stated != Decimal(carried) and stated not in errata_values:
        report.add(fs.path, line, "printed", f"«{printed}» states {stated}, but {cell[0]} {cell[1]} `{cell[2]}` is "
                   f"{carried} and no erratum of that cell gives {stated}", col_no=fs.col_no("printed"))


def _check_cells_have_spans(ctx: _Context, located: set, report) -> None:
    """Every non-derived, non-empty figure cell of a located report has a span."""
    from ..model import roles

    for t in ctx.tables.values():
        if not _is_fact_table(t):
            continue
        fields = roles.row_key_fields(t.schema)
        plain = (t.col("derived") != "true") & np.isin(t.col("source_id"), list(ctx.located))
        for col in roles.figures(t.schema):
            for r in (i for i in range(len(t)) if plain[i] and t.col(col)[i] != ""):
                key = roles.ROW_KEY_SEPARATOR.join(t.col(f)[r] for f in fields)
                if (t.name, t.col("fiscal_year")[r], t.col("department")[r], key, col) not in located:
                    report.add(t.path, int(t.lines[r]), col, f"figure {t.col(col)[r]} has no span in "
                               "data/figure_sources.csv: say where the report prints it", col_no=t.col_no(col))


def _check_passages(ctx: _Context, report) -> None:
    """Each excerpt of a located row's source_quote lies near one of the row's spans."""
    for cell, (t, r) in ctx.cells.items():
        spans = ctx.spans_of.get(cell)
        if not spans or "source_quote" not in t.fields:
            continue
        text = ctx.texts.get(t.col("source_id")[r])
        if text is None:
            continue
        for excerpt in t.col("source_quote")[r].split(" … "):
            n = len(excerpt)
            if not any(text.find(excerpt, max(0, s - n - PASSAGE), e + n + PASSAGE) >= 0 for s, e in spans):
                short = excerpt if len(excerpt) <= 30 else excerpt[:30] + "…"
                report.add(t.path, int(t.lines[r]), "source_quote", f"excerpt «{short}» is not in the passage of "
                           f"the row's figures (within {PASSAGE} characters of a span in data/figure_sources.csv)",
                           col_no=t.col_no("source_quote"))
                break


def _check_non_figures(ctx: _Context, nf, report) -> None:
    if nf is None:
        return
    usable = nf.usable("start") & nf.usable("end")
    for r in np.flatnonzero(usable):
        sid, line = nf.col("source_id")[r], int(nf.lines[r])
        text = ctx.texts.get(sid)
        if text is None:
            continue
        start, end, printed = int(nf.col("start")[r]), int(nf.col("end")[r]), nf.col("printed")[r]
        if not 0 <= start < end <= len(text) or text[start:end] != printed:
            report.add(nf.path, line, "printed", f"the source has «{text[start:end]}» at {start}..{end}, "
                       f"not «{printed}»", col_no=nf.col_no("printed"))
            continue
        if nf.col("reason")[r] == UNCLASSIFIED:  # a draft row: not accounted for until a person decides
            ctx.unclassified.add((sid, start, end))
            continue
        ctx.covered.setdefault(sid, []).append((start, end))


def _check_accounted(ctx: _Context, source_paths: dict[str, str], report) -> tuple[int, int]:
    """Every number of every archived text lies inside a figure span or a non-figure. Returns
    (accounted, numbers)."""
    accounted = total = 0
    for sid, text in ctx.texts.items():
        if sid not in ctx.located:
            continue
        spans = sorted(ctx.covered.get(sid, []))
        starts = [s for s, _ in spans]
        for s, e in numbers_in(text):
            total += 1
            i = bisect_right(starts, s) - 1
            # the span starting at or before s that reaches furthest (spans are short: look back a few)
            if any(spans[j][0] <= s and e <= spans[j][1] for j in range(max(0, i - 3), i + 1)):
                accounted += 1
                continue
            line, col = _line_col(text, s, ctx.line_starts[sid])
            if (sid, s, e) in ctx.unclassified:
                report.add(source_paths.get(sid, sid), line, f"col {col}",
                           f"number «{text[s:e]}» of {sid} is `{UNCLASSIFIED}` in data/non_figures.csv (a machine "
                           "draft): locate it as a figure or give the reason it is not one")
                continue
            report.add(source_paths.get(sid, sid), line, f"col {col}",
                       f"number «{text[s:e]}» is neither a figure (data/figure_sources.csv) nor a non-figure "
                       f"(data/non_figures.csv) of {sid}: locate it or say why it is not a figure")
    return accounted, total


def check_figure_sources(tables: dict, texts: dict[str, str], source_paths: dict[str, str], report,
                         skipped: Collection[str] = ()) -> tuple[int, int]:
    """Check (f) on the typed tables and the archived texts (source_id -> text), the fact tables
    `skipped` (left_out) apart. Returns (numbers accounted for, numbers in the reports)."""
    fs, nf = tables.get("figure_sources"), tables.get("non_figures")
    if fs is None:
        return 0, 0
    ctx = _Context(tables, texts, skipped)
    # a report is located once figure_sources has a row for it; a report not located yet (the
    # synthetic scale-test reports, a new report before its review) is counted apart, not failed
    ctx.located = {sid for sid in fs.col("source_id")} & set(texts)
    located = set()
    usable = fs.usable("start") & fs.usable("end")  # a bad offset is reported by the type check
    for r in range(len(fs)):
        if usable[r]:
            _check_span(ctx, fs, r, report)
        located.add(tuple(fs.col(c)[r] for c in ("resource", "fiscal_year", "department", "row_key", "column")))
    _check_cells_have_spans(ctx, located, report)
    _check_passages(ctx, report)
    _check_non_figures(ctx, nf, report)
    return _check_accounted(ctx, source_paths, report)


def archived_texts(root: Path, sources) -> tuple[dict[str, str], dict[str, str]]:
    """source_id -> decoded archived text, and -> its path; a missing, outside or undecodable file
    is left out (check (e) reports it)."""
    texts: dict[str, str] = {}
    paths: dict[str, str] = {}
    if sources is None:
        return texts, paths
    read: dict[str, str | None] = {}  # each file once: many department-years may cite one
    for r in range(len(sources)):
        sid, rel = sources.col("source_id")[r], sources.col("path")[r]
        if rel not in read:
            read[rel] = archived_text(root, rel)
        text = read[rel]
        if text is not None:
            texts[sid], paths[sid] = text, rel
    return texts, paths


def archived_file(root: Path, rel: str) -> tuple[str, str, str | None]:
    """(problem, sha256, text) of the archived file `rel`, the one reader of the archive (the
    provenance check, its SQL engines' twin and this check): problem '' when it is read as UTF-8,
    else "outside" the package, "missing" (sha256 '') or "not_utf8" (text None)."""
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:
        return "outside", "", None
    if not path.is_file():
        return "missing", "", None
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        return "", digest, data.decode("utf-8")
    except UnicodeDecodeError:
        return "not_utf8", digest, None


def archived_text(root: Path, rel: str) -> str | None:
    """The archived file `rel` decoded; None when missing, outside the package or not UTF-8."""
    return archived_file(root, rel)[2]


def check(root: Path, tables: dict, report) -> tuple[int, int, int]:
    """The hook `validate` calls: (numbers accounted for, numbers in the located reports,
    reports not located yet)."""
    skipped = left_out(((name, t.path, t.schema) for name, t in tables.items()), report)
    if skipped & set(READ):
        return 0, 0, 0
    tables = {name: t for name, t in tables.items() if name not in skipped}
    texts, paths = archived_texts(root, tables.get("sources"))
    accounted, found = check_figure_sources(tables, texts, paths, report, skipped)
    fs = tables.get("figure_sources")
    located = set(fs.col("source_id")) if fs is not None else set()
    return accounted, found, len(set(texts) - located)
