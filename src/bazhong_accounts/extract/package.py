"""`bazhong-accounts extract REPORT... --out DIR | --into DIR`: reports → a package directory.

Each report is read (readers), its outline recognised and parsed into a Draft (tables for the
table-first outline, narrative for the Sichuan one), and the Draft written as rows of the
project's resources, with the original file and the text the offsets refer to in archive/, and
every Break in DIR/review.csv (also printed). The rows are machine-extracted drafts: the sources
row and the review file say so, and a person confirms them before they are published.

Atomic: everything is written into a temporary directory beside DIR, which replaces DIR only
when all went well; a failed run leaves DIR byte-identical.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.figure_sources import UNCLASSIFIED, numbers_in  # the validator's own scanner and reason
from ..errors import fail
from ..model import roles
from ..model.descriptor import package_dir, read_descriptor, read_schema
from .draft import Draft
from .readers import ReportError, ReportText, read_report

SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".txt")
REVIEW = "review.csv"
REVIEW_FIELDS = ["fiscal_year", "department", "resource", "row_key", "column", "check", "value_carried",
                 "value_other", "where"]
DRAFT_NOTE = ("Machine-extracted draft (bazhong-accounts extract): rows not yet reviewed by a person; "
              "see review.csv for the report's inconsistencies.")


@dataclass
class Extracted:
    report: ReportText
    draft: Draft
    original: Path
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- one report → Draft


def identify(text: str) -> tuple[str, str, int | None]:
    """(department name, region, year) as the report prints them; "" / None when not found."""
    flat = re.sub(r"\s", "", text)
    year = None
    m = re.search(r"(\d{4})年度?部门决算", flat)
    if m:
        year = int(m.group(1))
    name = ""
    candidates = [m.group(1) for pattern in (r"第一部分(.{2,40}?)(?:\d{4}年度?)?(?:部门)?概况",
                                             r"纳入(.{2,40}?)\d{4}年度?部门决算编制范围")
                  for m in re.finditer(pattern, flat)]
    candidates += [m.group(1) for m in re.finditer(r"(?m)^\s*([\u4e00-\u9fff（）]{2,40}?)\s*\d{4}\s*年度?部门决算\s*$",
                                                   text)]
    for c in candidates:
        if re.search(r"[\u4e00-\u9fff]{2}", c) and c != "部门" and "部分" not in c:
            name = c
            break
    han = r"[\u4e00-\u9fff]"
    m = re.match(rf"(?:中共)?((?:{han}{{2,4}}?省)?(?:{han}{{2,4}}?市)?(?:{han}{{1,4}}?[区县])?)", name)
    region = m.group(1) if m else ""
    return name, region, year


def department_id(name: str) -> str:
    """A stable identifier for a department named in Chinese only (give --department for a
    readable one): dept- and 8 hex digits of the name's SHA-256."""
    return "dept-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]


def parse(report: ReportText, department: str | None, fiscal_year: int | None,
          known: dict[str, str] | None = None) -> tuple[Draft, str, str]:
    """The Draft of one report, with the department's name and region as printed. `known`:
    department ids by Chinese name, of the package the report goes into."""
    from .tables import has_table_outline, parse_tables

    tables = has_table_outline(report.text)
    if not tables and not _has_narrative_outline(report.text):
        raise ReportError(f"{report.path}: not a 部门决算 report (no outline found: neither the standard tables "
                          "nor the 情况说明 of a final-accounts report)")
    name, region, year = identify(report.text)
    if not tables and not name and not department:
        department, name, region = _narrative_identity(report, known or {})
    department = department or (known or {}).get(name)
    fiscal_year = fiscal_year or year
    if fiscal_year is None:
        raise ReportError(f"{report.path}: no fiscal year found (…年度部门决算): give --fiscal-year")
    if not name and not department:
        raise ReportError(f"{report.path}: no department name found: give --department")
    department = department or department_id(name)
    source_id = f"{department}-{fiscal_year}-final-accounts"
    if tables:
        draft = parse_tables(report.text, department=department, fiscal_year=fiscal_year, source_id=source_id)
    else:
        draft = _parse_narrative(report, department, fiscal_year)
        draft.source_id = source_id
        for rows in draft.rows.values():
            for r in rows:
                if "source_id" in r:
                    r["source_id"] = source_id
    draft.department_name_zh = draft.department_name_zh or name
    draft.region_zh = draft.region_zh or region
    if not any(draft.rows.values()):
        raise ReportError(f"{report.path}: a 部门决算 outline but no figure could be located in it")
    return draft, name, region


def _has_narrative_outline(text: str) -> bool:
    flat = re.sub(r"\s", "", text)
    return "部门决算" in flat and "情况说明" in flat and "收入决算情况说明" in flat


def _narrative_identity(report: ReportText, known: dict[str, str]) -> tuple[str, str, str]:
    """(id, Chinese name, region) as the narrative parser finds them: a narrative report often
    prints its name only in headings identify() does not read (see narrative.identify_department).
    The target package's id wins for a name it already knows."""
    from .narrative import References, flatten, identify_department

    try:
        dept, name, region = identify_department(flatten(report.text)[0], None, References(package_dir()))
    except ValueError as e:
        raise ReportError(f"{report.path}: {e}") from None
    return known.get(name, dept), name, region


def _parse_narrative(report: ReportText, department: str, fiscal_year: int) -> Draft:
    try:
        from .narrative import parse_narrative
    except ImportError:
        raise ReportError(f"{report.path}: narrative outline (Sichuan): its parser is not installed yet") from None
    return parse_narrative(report.text, department=department, fiscal_year=fiscal_year)


# ---------------------------------------------------------------- package directory


class Package:
    """A package directory being written: its resources, schemas and rows as CSV text."""

    def __init__(self, root: Path):
        self.root = root
        self.descriptor = read_descriptor(root)
        self.resources = {r["name"]: r for r in self.descriptor["resources"]}
        self.schemas = {n: read_schema(root, r) for n, r in self.resources.items()}
        self.rows = {n: self._read(n) for n in self.resources}
        self.listed: list[str] = []  # resources this run adds to the descriptor

    def list_resource(self, name: str) -> None:
        """List a resource whose schema the package has (or the project has: copied) but whose
        rows it did not hold yet (expenditure_by_economic …), as its schema describes: "a package
        lists this resource once it holds rows"."""
        schema = self.root / "schemas" / f"{name}.json"
        if name in self.resources or not re.fullmatch(r"[a-z0-9_]+", name):
            return
        if not schema.is_file():
            if not (package_dir() / "schemas" / schema.name).is_file():
                return
            shutil.copyfile(package_dir() / "schemas" / schema.name, schema)
        entry = _resource_entry(schema, self.descriptor["resources"][0])
        self.descriptor["resources"].append(entry)
        self.resources[name] = entry
        self.schemas[name] = read_schema(self.root, entry)
        self.rows[name] = []
        self.listed.append(name)

    def _read(self, name: str) -> list[dict[str, str]]:
        path = self.root / self.resources[name]["path"]
        if not path.is_file():
            return []
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    def fields(self, name: str) -> list[str]:
        return [f["name"] for f in self.schemas[name]["fields"]]

    def scope(self, name: str) -> list[str]:
        return roles.with_role(self.schemas[name], "scope")

    def has(self, department: str, year: int) -> bool:
        return any(r.get("department") == department and r.get("fiscal_year") == str(year)
                   for r in self.rows.get("sources", []))

    def remove(self, department: str, year: int) -> None:
        """Every row of a department-year (for --replace), and its archived files."""
        gone = set()
        for src in self.rows.get("sources", []):
            if src["department"] == department and src["fiscal_year"] == str(year):
                gone.add(src["source_id"])
                for p in (self.root / src["path"]).parent.glob(Path(src["path"]).stem + ".*"):
                    p.unlink()
        if "non_figures" in self.rows:  # scoped by its source only
            self.rows["non_figures"] = [r for r in self.rows["non_figures"] if r["source_id"] not in gone]
        for name in self.rows:
            scope = self.scope(name)
            if "fiscal_year" in scope or "department" in scope or name == "sources":
                self.rows[name] = [r for r in self.rows[name]
                                   if not (r.get("department") == department and r.get("fiscal_year") == str(year))]

    def add(self, name: str, row: dict[str, str]) -> None:
        if name not in self.resources:
            return
        self.rows[name].append({f: row.get(f, "") or "" for f in self.fields(name)})

    def write(self) -> None:
        from ..checks.canonical import format_file

        if self.listed:
            _write_descriptor(self.root, self.descriptor)
        for name, res in self.resources.items():
            path = self.root / res["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=self.fields(name), lineterminator="\n", extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rows[name])
            path.write_text(buf.getvalue(), encoding="utf-8", newline="")
            canonical, why = format_file(path, self.schemas[name])
            if canonical is None:
                raise ReportError(f"{path}: cannot be written in canonical form: {why}")
            path.write_bytes(canonical)


def new_package(dest: Path) -> None:
    """An empty package at dest: the project's descriptor and schemas, data files with headers."""
    src = package_dir()
    shutil.copytree(src / "schemas", dest / "schemas")
    descriptor = read_descriptor(src)
    descriptor["name"] = descriptor["id"] = "extracted-final-accounts"
    descriptor["title"] = "部门决算（机器提取草稿） / Department final accounts (machine-extracted draft)"
    descriptor["description"] = ("Rows extracted by `bazhong-accounts extract` from published 部门决算 reports. "
                                 "Machine-extracted drafts, not reviewed by a person: every figure is located in "
                                 "the archived text; review.csv lists the reports' inconsistencies.")
    descriptor["sources"] = []
    descriptor["contributors"] = [c for c in descriptor.get("contributors", [])
                                  if "publisher" not in c.get("roles", [])]
    descriptor["resources"] += _unlisted_resources(dest, descriptor)
    _write_descriptor(dest, descriptor)
    (dest / "archive").mkdir()
    pkg = Package(dest)
    pkg.write()


def _write_descriptor(root: Path, descriptor: dict) -> None:
    """datapackage.json as the project writes it (2-space indent, UTF-8 as is); inside the run's
    temporary directory, which replaces the target only when all went well."""
    (root / "datapackage.json").write_text(json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")


def _unlisted_resources(root: Path, descriptor: dict) -> list[dict]:
    """Resources for the schemas the project's descriptor does not list yet (it holds no rows of
    them), described by the schema's own title and description, like the listed ones."""
    listed = {r["schema"] for r in descriptor["resources"]}
    like = descriptor["resources"][0]
    return [_resource_entry(path, like) for path in sorted((root / "schemas").glob("*.json"))
            if f"schemas/{path.name}" not in listed]


def _resource_entry(schema_path: Path, like: dict) -> dict:
    """The descriptor's entry of the resource of a schema file: its own title and description,
    the format of the listed resource `like`."""
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    name = schema_path.stem
    return {"name": name, "path": f"data/{name}.csv", "title": schema.get("title", name),
            "description": schema.get("description", ""),
            **{k: like[k] for k in ("format", "mediatype", "encoding", "dialect") if k in like},
            "schema": f"schemas/{name}.json"}


def add_report(pkg: Package, ex: Extracted, replace: bool) -> None:
    d = ex.draft
    if pkg.has(d.department, d.fiscal_year):
        if not replace:
            raise ReportError(f"{ex.original}: {d.department} {d.fiscal_year} is already in the package; "
                              "give --replace to replace it")
        pkg.remove(d.department, d.fiscal_year)
    archive = pkg.root / "archive"
    archive.mkdir(exist_ok=True)
    text_rel = f"archive/{d.source_id}.txt"
    text_bytes = d.text.encode("utf-8")
    original_rel = f"archive/{d.source_id}{ex.original.suffix.lower() or '.bin'}"
    if original_rel == text_rel and ex.original.read_bytes() != text_bytes:
        original_rel = f"archive/{d.source_id}.original.txt"  # a GBK text kept as published
    (pkg.root / text_rel).write_bytes(text_bytes)
    if original_rel != text_rel:
        shutil.copyfile(ex.original, pkg.root / original_rel)
    original_sha = hashlib.sha256(ex.original.read_bytes()).hexdigest()
    name = d.department_name_zh
    if not any(r["department"] == d.department for r in pkg.rows.get("departments", [])):
        pkg.add("departments", {"department": d.department, "name_zh": name or d.department,
                                "name_en": f"{name or d.department} (English name to be added)",
                                "region_zh": d.region_zh or "未知",
                                "region_en": f"{d.region_zh or 'unknown'} (to be translated)"})
    pkg.add("sources", {
        "source_id": d.source_id, "fiscal_year": str(d.fiscal_year), "department": d.department,
        "title_zh": f"{name}{d.fiscal_year}年度部门决算",
        "title_en": f"{d.department}: final accounts of {d.fiscal_year}",
        "publisher_zh": name or d.department, "publisher_en": f"{name or d.department}",
        "period_start": f"{d.fiscal_year}-01-01", "period_end": f"{d.fiscal_year}-12-31", "path": text_rel,
        "sha256": hashlib.sha256(text_bytes).hexdigest(), "media_type": "text/plain; charset=utf-8",
        "note_en": f"Text of {original_rel} ({ex.report.media_type}, sha256 {original_sha}). {DRAFT_NOTE}",
    })
    _english_names(pkg, d)
    _classification(pkg, d)
    for resource in d.rows:
        pkg.list_resource(resource)  # a table this package held no rows of yet
    for resource, rows in d.rows.items():
        for row in rows:
            pkg.add(resource, row)
    _spans_and_non_figures(pkg, d)


def _spans_and_non_figures(pkg: Package, d: Draft) -> None:
    """figure_sources: each span of a figure the package holds. non_figures: every other number
    of the archived text (found by the validator's own scanner), with the reason the context
    shows, else `unclassified`, which validate reports until a person gives the reason. Both are
    machine drafts like the figures (the sources row and review.csv say so)."""
    held = [s for s in d.spans if s.resource in pkg.resources]  # rows the package can hold
    for s in sorted(held, key=lambda s: s.start):
        pkg.add("figure_sources", {"resource": s.resource, "row_key": s.row_key, "column": s.column,
                                   "fiscal_year": str(d.fiscal_year), "department": d.department,
                                   "source_id": d.source_id, "start": str(s.start), "end": str(s.end),
                                   "printed": s.printed})
    covered = sorted((s.start, s.end) for s in held)
    starts = [s for s, _ in covered]
    codes = _printed_codes(pkg, d)
    for start, end in numbers_in(d.text):
        i = bisect_right(starts, start) - 1
        if any(covered[j][0] <= start and end <= covered[j][1] for j in range(max(0, i - 3), i + 1)):
            continue
        pkg.add("non_figures", {"source_id": d.source_id, "start": str(start), "end": str(end),
                                "printed": d.text[start:end],
                                "reason": "classification_code" if d.text[start:end] in codes
                                else non_figure_reason(d.text, start, end)})


def _printed_codes(pkg: Package, d: Draft) -> set[str]:
    """Identifiers of the draft's rows that are printed as digits: the 科目编码 of the tables
    (201, 20103, …), which name a row and are not figures."""
    out = set()
    for resource, rows in d.rows.items():
        if resource not in pkg.schemas:
            continue  # rows the package cannot hold: their numbers stay for a person to look at
        fields = roles.with_role(pkg.schemas[resource], "identifier")
        out |= {r[f] for r in rows for f in fields if r.get(f, "").isdigit()}
    return out


_CN = "一二三四五六七八九十两百千"


def non_figure_reason(text: str, start: int, end: int) -> str:
    """Why text[start:end] is not a figure, as far as its neighbours show; `unclassified` when
    they do not (a person decides: a figure to locate, or a reason)."""
    before, after = text[max(0, start - 3):start], text[end:end + 3]
    number = text[start:end]
    # what follows with the line breaks and spaces of the layout taken out (2024\n    年)
    after_flat = re.sub(r"\s", "", text[end:end + 24])[:8]
    line_start = text.rfind("\n", 0, start) + 1
    at_line_start = text[line_start:start].strip() in ("", "（", "(")
    if re.fullmatch(r"[〔\[（(]", before[-1:] or "") and re.match(r"\d{4}[〕\]）)]", number + after[:1]) \
            and "号" in text[end:end + 12]:
        return "document_number"
    if re.fullmatch(r"(19|20)\d\d", number) and re.match(r"年\d{1,2}月", after_flat):
        return "date"
    if re.fullmatch(r"(19|20)\d\d", number) and (after_flat.startswith("年") or after.startswith(("-", "—"))):
        return "year"
    if re.fullmatch(r"\d{1,2}", number) and after_flat.startswith(("月", "日")) and re.search(r"年\s*$|月\s*$", before):
        return "date"
    if before.endswith("单价") and re.match(r"万?元(（含）)?以[上下]", after_flat):
        return "threshold"
    if _in_day_name(text, start, end):
        return "date"
    if before.endswith("〕") and after.startswith("号"):  # 巴府办〔2018〕1号: the number of a document
        return "document_number"
    chart = _chart_reason(text, start, end)
    if chart:
        return chart
    if before.endswith("以下") and after.startswith("个"):  # 主要用于以下5个方面: the items are listed next
        return "list_count"
    if _inline_list_number(text, start, number) or _glossary_number(text, start, number):
        return "list_ordinal"
    if at_line_start and _in_numbered_list(text, start, number):
        return "list_ordinal"
    if before.endswith("第") and after.startswith("次"):
        return "meeting_number"
    if after.startswith(("大", "届")):
        return "session_number"
    if before.endswith("第") and after.startswith(("部分", "章", "节")):
        return "heading_number"
    if after.startswith("、") and number[0] in _CN:  # 一、 a heading, or a numbered row label of a table
        return "heading_number"
    if at_line_start and (after.startswith("、") or (before.endswith(("（", "(")) and after.startswith(("）", ")")))):
        return "heading_number"
    if number[0] in _CN:
        reason = _chinese_numeral_reason(before, number, after_flat)
        if reason:
            return reason
    if after.startswith("是") and number[0] in _CN:
        return "list_ordinal"
    if at_line_start and re.match(r"[.．](?!\d)", after):
        return "list_ordinal"
    if before.endswith(("表", "图", "附件")):
        return "heading_number"
    return UNCLASSIFIED


def _chinese_numeral_reason(before: str, number: str, after: str) -> str | None:
    """A Chinese numeral that names rather than counts: 十一届三次四次全会 (the plenary sessions),
    “四个意识” (a slogan), 第三方 / 第一责任人 / 上一年 (wording), 一级指标 (a table heading)."""
    if re.match(rf"次(?:[{_CN}]+次)*全会", after):  # 五次六次七次全会
        return "meeting_number"
    if before.endswith("“") and after.startswith("个"):
        return "slogan"
    if (before.endswith("第") and after.startswith(("方", "责任人"))) or \
            (before.endswith(("上", "下")) and number == "一" and after.startswith("年")):
        return "wording"
    if (before.endswith("第") and after.startswith("年")) or (number == "一" and after.startswith("批")) \
            or (number == "两" and after.startswith("级")):
        return "wording"  # 第一年 (an ordinal), 一批 (some), 市、县两级 (the two levels of government)
    if after.startswith("级指标"):
        return "table_heading"
    return None


def _in_day_name(text: str, start: int, end: int) -> bool:
    """A day named by its date, “5·12” (the 12 May earthquake): month·day inside quotes."""
    around = text[max(0, start - 5):end + 5]
    return any(m.start() <= start - max(0, start - 5) and end - max(0, start - 5) <= m.end()
               for m in re.finditer(r"[“\"]\s*\d{1,2}\s*[·.]\s*\d{1,2}\s*[”\"]", around))


def _chart_reason(text: str, start: int, end: int) -> str | None:
    """Stray text of a chart the conversion left behind: `[image: image5.png]`, the ticks of its
    axis (bare numbers on their own lines, evenly spaced: 2360 2340 2320 …) and its category
    labels run together with a digit (20174 for 2017). The chart's data labels are figures and
    get no reason here."""
    line_start = text.rfind("\n", 0, start) + 1
    if re.search(r"\[image:[^\]\n]*$", text[line_start:start]):
        return "extraction_artifact"
    block = _chart_lines(text, start)
    if block is None:
        return None
    number = text[start:end]
    if re.fullmatch(r"(19|20)\d\d\d", number):
        return "chart_label"
    values = [int(v) for v in block if re.fullmatch(r"\d+", v)]
    if re.fullmatch(r"\d+", number) and _in_even_run(values, int(number)):
        return "axis_tick"
    return None


def _chart_lines(text: str, start: int) -> list[str] | None:
    """The bare numbers of the chart holding text[start] on a line of its own: the lines after a
    `[image: …]` marker that hold nothing else (blank lines between); None when it is not there."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    own = text[line_start:line_end if line_end >= 0 else len(text)]
    if not re.fullmatch(r"(?:\[image:[^\]\n]*\])?\s*\d+(?:\.\d+)?\s*", own):
        return None
    lines = text[max(0, line_start - 2000):line_end if "[image:" in own else line_start].split("\n")[::-1]
    for n, ln in enumerate(lines):
        if "[image:" in ln:
            first = re.sub(r"^.*\]", "", ln).strip()
            after = text[line_start:line_start + 2000].split("\n")[1 if "[image:" in own else 0:]
            above = [x.strip() for x in lines[:n][::-1] if x.strip()]
            below = [x.strip() for x in after if x.strip()]
            below = below[:next((i for i, x in enumerate(below) if not re.fullmatch(r"\d+(?:\.\d+)?", x)),
                                len(below))]
            return ([first] if first else []) + above + below
        if ln.strip() and not re.fullmatch(r"\d+(?:\.\d+)?", ln.strip()):
            return None
    return None


def _in_even_run(values: list[int], value: int) -> bool:
    """`value` is one of at least three consecutive values with the same step (axis ticks)."""
    for i in range(len(values) - 2):
        step = values[i + 1] - values[i]
        j = i + 1
        while j + 1 < len(values) and values[j + 1] - values[j] == step:
            j += 1
        if step and j - i >= 2 and value in values[i:j + 1]:
            return True
    return False


def _inline_list_number(text: str, start: int, number: str) -> bool:
    """2 of `1.办结信访案件；2.承办…；3.传达…`: a list numbered inside one line, each item
    after a semicolon, the item before it numbered one less on the same line."""
    end = start + len(number)
    if not re.fullmatch(r"\d{1,2}", number) or not re.match(r"[.．、](?!\d)", text[end:end + 1] + " "):
        return False
    if text[start - 1:start] not in ("；", ";"):
        return False
    line = text[text.rfind("\n", 0, start) + 1:start]
    return re.search(rf"(?:^|[\s；;]){int(number) - 1}[.．、]", line) is not None


def _glossary_number(text: str, start: int, number: str) -> bool:
    """23 of `23项目支出：…`: a numbered glossary entry whose dot was lost, the line before it
    numbered one less (`22.基本支出：…`)."""
    end = start + len(number)
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip() or not re.fullmatch(r"\d{1,2}", number):
        return False
    if not re.match(r"[\u4e00-\u9fff（）()“”]{2,20}[：:]", text[end:end + 24]):
        return False
    previous = text[:line_start - 1].rstrip("\n").rsplit("\n", 1)[-1].strip()
    return re.match(rf"{int(number) - 1}[.．、]\S", previous) is not None


def _in_numbered_list(text: str, start: int, number: str) -> bool:
    """A 序号 of a list printed as a table (序号 单位名称 备注, then `1   中共…`): a small
    integer at the start of its line, a name after it, the heading 序号 a few lines above."""
    end = start + len(number)
    if not re.fullmatch(r"\d{1,3}", number) or not re.match(r" {2,}[\u4e00-\u9fff]", text[end:end + 4]):
        return False
    above = text[max(0, start - 4000):start].split("\n")[-40:]  # a window: never the whole text again
    return any(re.match(r"\s*序号\s", ln) for ln in above)


# the resources whose lines are 科目编码 of the function classification (foreign key to classification)
FUNCTION_LINES = ("expenditure_by_function", "expenditure_by_function_all_funds", "income_by_function")


def _function_lines(d: Draft):
    return (row for name in FUNCTION_LINES for row in d.rows.get(name, []))


def _english_names(pkg: Package, d: Draft) -> None:
    """English of a function line the parser has none for: the classification's, where the code
    and the Chinese name are the same in any year the package holds (else left empty, which
    validate reports and the review file lists)."""
    english = {(r["code"], r["name_zh"]): r["name_en"] for r in pkg.rows.get("classification", []) if r["name_en"]}
    for row in _function_lines(d):
        if not row.get("name_en"):
            row["name_en"] = english.get((row["code"], row["name_zh"]), "")


def _classification(pkg: Package, d: Draft) -> None:
    """The classification rows a new year needs: each code of the function lines not yet
    listed for that year, with the name as the table prints it."""
    have = {(r["fiscal_year"], r["code"]) for r in pkg.rows.get("classification", [])}
    for row in _function_lines(d):
        key = (str(d.fiscal_year), row["code"])
        if key not in have:
            have.add(key)
            pkg.add("classification", {"fiscal_year": str(d.fiscal_year), "code": row["code"], "level": row["level"],
                                       "parent_code": row.get("parent_code", ""), "name_zh": row["name_zh"],
                                       "name_en": row.get("name_en", "")})


def validation_breaks(root: Path, drafts: list[Draft]) -> list[list[str]]:
    """The accounting identities and provenance checks of `validate` on the written package, as
    review lines: the report's own inconsistencies (its rounding, a share that does not match)."""
    from ..checks.validate import collect

    pkg = Package(root)
    by_path = {res["path"]: name for name, res in pkg.resources.items()}
    ours = {(str(d.fiscal_year), d.department) for d in drafts}
    out = []
    starts: dict[str, dict[int, int]] = {}  # resource -> line a row starts on -> its index
    for p in collect(root).report.problems:
        name = by_path.get(p.path)
        if name and name not in starts:
            starts[name] = {line: i for i, line in enumerate(_row_lines(root / p.path))}
        i = starts[name].get(p.line) if name and p.line else None
        row = pkg.rows[name][i] if i is not None and i < len(pkg.rows[name]) else None
        if row is not None and (row.get("fiscal_year"), row.get("department")) not in ours:
            continue
        year, dept = (row.get("fiscal_year", ""), row.get("department", "")) if row else ("", "")
        key = roles.row_key(pkg.schemas[name], row) if row else ""
        value = row.get(p.column or "", "") if row else ""
        out.append([year, dept, name or p.path, key, p.column or "", "validate", value, "", str(p)])
    return out


def _row_lines(path: Path) -> list[int]:
    """The line each data row of a CSV starts on (a quoted cell may hold line breaks)."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        out, start = [], reader.line_num + 1
        for _ in reader:
            out.append(start)
            start = reader.line_num + 1
    return out


def _write_beside(path: Path, header: list[str], rows: list[list[str]], drafts: list[Draft]) -> None:
    """A CSV beside the package: these drafts' rows replace theirs of an earlier run, the other
    department-years' rows are kept."""
    ours = {(str(d.fiscal_year), d.department) for d in drafts}
    year, dept = header.index("fiscal_year"), header.index("department")
    old = []
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as f:
            old = [r for r in list(csv.reader(f))[1:] if (r[year], r[dept]) not in ours]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(old + rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def write_review(root: Path, drafts: list[Draft], extra: list[list[str]]) -> list[list[str]]:
    """review.csv: every break of the package's extracted reports (earlier runs' kept)."""
    new = [[str(d.fiscal_year), d.department, b.resource, b.row_key, b.column, b.check, b.value_carried,
            b.value_other, b.where] for d in drafts for b in d.breaks] + extra
    _write_beside(root / REVIEW, REVIEW_FIELDS, new, drafts)
    return new


# ---------------------------------------------------------------- command


def expand(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix.lower() in SUFFIXES and q.is_file())
        else:
            out.append(p)
    return out


def _progress(items, enabled: bool):
    if not enabled:
        yield from items
        return
    from rich.progress import track

    yield from track(items, description="extracting", transient=True)


def run(args) -> int:
    if bool(args.out) == bool(args.into):
        fail("extract: give --out DIR (a new package) or --into DIR (an existing one), not both")
    target = Path(args.into or args.out).resolve()
    reports = expand(args.reports)
    if not reports:
        fail(f"extract: no report files in {', '.join(args.reports)} (.pdf, .docx, .html, .htm, .txt)")
    if args.out and target.exists() and any(target.iterdir()):
        fail(f"extract: {target} exists and is not empty: use --into {target} to add to it")
    if args.into and not (target / "datapackage.json").is_file():
        fail(f"extract: {target} is not a package directory (no datapackage.json): use --out to create one")
    if len(reports) > 1 and (args.department or args.fiscal_year):
        fail("extract: --department and --fiscal-year name one report: give one report with them")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.extract-", dir=target.parent))
    try:
        work = tmp / "package"
        if args.into:
            _copy_package(target, work)
        else:
            work.mkdir()
            new_package(work)
        failed, done = _extract_all(work, reports, args)
        if not done:
            return 1
        breaks = write_review(work, done, validation_breaks(work, done))
        for b in breaks:
            print(f"review: {b[1]} {b[0]} {b[2]}[{b[3]}].{b[4]}: {b[5]}: carried {b[6]}, other {b[7]} ({b[8]})")
        _swap(work, target, bool(args.into))
        print(f"extract: wrote {target} ({len(done)} report{'s' if len(done) != 1 else ''}, "
              f"{len(breaks)} break{'s' if len(breaks) != 1 else ''} to review in {target / REVIEW})")
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract_all(work: Path, reports: list[Path], args) -> tuple[int, list[Draft]]:
    pkg = Package(work)
    failed, done = 0, []
    year = int(args.fiscal_year) if args.fiscal_year else None
    for path in _progress(reports, sys.stdout.isatty() and len(reports) > 1):
        try:
            text = read_report(path)
            known = {r["name_zh"]: r["department"] for r in pkg.rows.get("departments", [])}
            draft, _, _ = parse(text, args.department, year, known)
            add_report(pkg, Extracted(text, draft, path), args.replace)
        except ReportError as e:
            failed += 1
            print(f"FAILED {e}")
            continue
        n_rows = sum(len(r) for r in draft.rows.values())
        done.append(draft)
        print(f"ok {path}: {draft.department} {draft.fiscal_year}: {n_rows} rows, {len(draft.spans)} figures, "
              f"{len(draft.breaks)} breaks (machine-extracted draft)")
    if done:
        pkg.write()
    return failed, done


PACKAGE_PARTS = ("datapackage.json", "schemas", "data", "archive", REVIEW)


def _copy_package(src: Path, dest: Path) -> None:
    """The package's own files (not a checkout's .git or .venv beside them)."""
    dest.mkdir()
    for part in PACKAGE_PARTS:
        p = src / part
        if p.is_dir():
            shutil.copytree(p, dest / part)
        elif p.is_file():
            shutil.copy2(p, dest / part)


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for part in PACKAGE_PARTS:
        p = root / part
        for f in ([p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []):
            if f.is_file():
                out[f.relative_to(root).as_posix()] = f.read_bytes()
    return out


def _swap(work: Path, target: Path, into: bool) -> None:
    """The finished package goes in place. --out: one rename of the directory. --into: each
    changed file replaced by a rename (os.replace), new ones added, removed ones (--replace)
    deleted; the target directory itself stays (it may be the current directory)."""
    if not into:
        if target.exists():
            target.rmdir()  # empty (checked above)
        os.replace(work, target)
        return
    new, old = _files(work), _files(target)
    for rel, data in new.items():
        if old.get(rel) == data:
            continue
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.extract-tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    for rel in old.keys() - new.keys():
        (target / rel).unlink()
