"""Propose data/figure_sources.csv and data/non_figures.csv from the package and its archived
report (issue 11). Run ONCE, then review and commit the CSVs: they are the data, the validator
never re-derives them. Run again only to start a review over (it overwrites both files).

    python scripts/locate_figures.py [PACKAGE_DIR]

Figure spans: for each non-derived figure cell, each excerpt of the row's source_quote is found
in the text; inside each occurrence, a printed number whose value (sign word, unit) equals the
cell and whose context fits the column (占 → share, 完成预算 → completion rate, 增加/减少 →
change, the 预算数/执行数/财政拨款/其他资金 cells of a project table) becomes a span. An excerpt
found several times keeps only the occurrences not preceded by a CJK character (财政拨款支出…
inside 一般公共预算财政拨款支出… is another figure), and a short one only those near another
excerpt of the same quote. A number claimed by several cells goes to the cell(s) whose excerpt
is longest. Non-figures: years, dates, document numbers, heading and list numbers, chart
labels, by rule; what no rule explains is printed for a person to decide (NON_FIGURE_REVIEW).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from bazhong_accounts.checks.figure_sources import NUMBER, SIGN_WORDS, in_unit, parse_printed  # noqa: E402
from bazhong_accounts.model import roles  # noqa: E402

SEP = " … "
CJK = re.compile(r"[\u4e00-\u9fff]")
UNIT_AFTER = re.compile(r"\s?(万元|亿元|%)")
SIGN_BEFORE = re.compile(rf"({'|'.join(SIGN_WORDS)})$")
NEAR = 1500  # a short ambiguous excerpt must lie this close to another excerpt of its quote

# column -> the context kinds it accepts (others: any)
KIND_OF_COLUMN = {
    "share_pct": {"share"}, "budget_completion_pct": {"completion"}, "completion_pct": {"completion"},
    "change_pct": {"change_pct"}, "change_amount": {"change_amount"},
    "amount": {"amount"}, "prior_year_amount": {"amount"},
    "budget": {"budget"}, "executed": {"executed"}, "budget_fiscal": {"budget_fiscal"},
    "executed_fiscal": {"executed_fiscal"}, "budget_other": {"budget_other"}, "executed_other": {"executed_other"},
}
TABLE_LABELS = {"预算数": ("budget",), "执行数": ("executed",), "其中-财政拨款": ("budget_fiscal", "executed_fiscal"),
                "其他资金": ("budget_other", "executed_other")}


def read_csv(path: Path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(path: Path, header, rows) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


def span_at(text: str, start: int, end: int) -> tuple[int, int]:
    """The number widened to what states its value: a sign word before, a unit after."""
    m = SIGN_BEFORE.search(text, max(0, start - 2), start)
    if m and m.end() == start:
        start = m.start()
    u = UNIT_AFTER.match(text, end)
    if u:
        end = u.end()
    return start, end


def kind_at(text: str, start: int, end: int) -> str:
    """What the number at text[start:end] (widened) is, by its context."""
    printed = text[start:end]
    before = text[max(0, start - 12):start]
    if printed.endswith("%"):
        if re.search(r"占[^，。；%]{0,10}$", before):
            return "share"
        if re.search(r"完成预算的?$", before):
            return "completion"
        if printed[:2] in SIGN_WORDS:
            return "change_pct"
        return "percent"
    if printed[:2] in SIGN_WORDS:
        return "change_amount"
    label = re.search(r"(预算数|执行数|其中-财政拨款|其他资金)[:为]\s*$", text[max(0, start - 14):start])
    if label:
        names = TABLE_LABELS[label.group(1)]
        if len(names) == 1:
            return names[0]
        table = text.rfind("预算执行情况（万元）", 0, start)
        if table >= 0 and start - table < 300:  # the table: first label is the budget side
            return names[min(text.count(label.group(1), table, start), 2) - 1]
        return names[0]
    if re.search(r"(下达|追加该项目经费|拨入项目资金)$", before):  # 附件2 names the cloud budget so
        return "budget"
    if re.search(r"(支付|服务费)$", before):
        return "executed"
    return "amount"


def occurrences(text: str, excerpt: str) -> list[int]:
    out, i = [], text.find(excerpt)
    while i >= 0:
        out.append(i)
        i = text.find(excerpt, i + 1)
    return out


def excerpt_places(text: str, quote: str) -> list[tuple[int, str]]:
    """(position, excerpt) of every occurrence kept for the quote's excerpts."""
    excerpts = [e for e in quote.split(SEP) if e.strip()]
    found = {e: occurrences(text, e) for e in excerpts}
    anchors = [p for e in excerpts if len(found[e]) == 1 for p in found[e]]
    places = []
    for e in excerpts:
        occ = found[e]
        if len(occ) > 1:
            clean = [p for p in occ if p == 0 or not CJK.match(text[p - 1]) or not CJK.match(e[0])]
            occ = clean or occ
        if len(occ) > 1 and anchors and len(e) < 12:
            occ = [p for p in occ if any(abs(p - a) < NEAR for a in anchors)] or occ
        places += [(p, e) for p in occ]
    return places


def cell_unit(schema: dict, row: dict, column: str) -> str | None:
    desc = next((f.get("description", "") for f in schema["fields"] if f["name"] == column), "")
    if "Unit: 万元" in desc:
        return "万元"
    if "Unit: percent" in desc:
        return "%"
    for f in schema["fields"]:
        if f.get("role") == "category" and row.get(f["name"]) in ("万元", "亿元", "%"):
            return row[f["name"]]
    return None


def propose_spans(root: Path, text: str, errata: list[dict]):
    package = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    other = defaultdict(set)
    for e in errata:
        for v in (e["value_carried"], e["value_other"]):
            if v:
                other[(e["resource"], e["row_key"], e["column"])].add(Decimal(v))
    claims = defaultdict(list)  # (start, end) -> [(excerpt length, cell)]
    cells = []
    for res in package["resources"]:
        schema = json.loads((root / res["schema"]).read_text(encoding="utf-8"))
        figs = roles.figures(schema)
        if not figs or "derived" not in roles.with_role(schema, "provenance"):
            continue
        for row in read_csv(root / res["path"]):
            if row["derived"] == "true":
                continue
            key = roles.row_key(schema, row)
            places = excerpt_places(text, row["source_quote"])
            for col in figs:
                if row[col] == "":
                    continue
                cell = (res["name"], key, col, row["fiscal_year"], row["department"], row["source_id"])
                cells.append(cell)
                want = {Decimal(row[col])} | other[(res["name"], key, col)]
                unit = cell_unit(schema, row, col)
                for pos, e in places:
                    for m in NUMBER.finditer(text, pos, pos + len(e)):
                        s, t = span_at(text, m.start(), m.end())
                        p = parse_printed(text[s:t])
                        if p is None or in_unit(p, unit) not in want:
                            continue
                        if col in KIND_OF_COLUMN and kind_at(text, s, t) not in KIND_OF_COLUMN[col]:
                            continue
                        claims[(s, t)].append((len(e), cell))
    spans = []
    for (s, t), who in claims.items():
        best = max(n for n, _ in who)
        for n, cell in dict.fromkeys((n, c) for n, c in who):
            if n == best:
                spans.append((cell, s, t))
    covered = {c for c, _, _ in spans}
    for c in cells:
        if c not in covered:
            print("NO SPAN:", c[:3], file=sys.stderr)
    return spans


# ---------------------------------------------------------------- non-figures

NON_FIGURE_RULES = [  # (reason, regex around the number: `N` marks where the number is), first match wins
    ("wording", r"[上下]N年|第N年服务费"),
    ("date", r"N月N日|N年N月N日|N年N月(?=N日)|N·N"),
    ("document_number", r"〔N〕N号|〔N〕"),
    ("year", r"N年度?|（N年度）|N-N年"),
    ("heading_number", r"^\s*N、|^\s*（N）|第N部分|附件N|图N"),
    ("list_ordinal", r"^\s*N\.|^\s*N(?=[\u4e00-\u9fff])|N是|N\.(?=[\u4e00-\u9fff《“])"),
    ("meeting_number", r"第N次常务会议|N届市政府"),
    ("table_heading", r"N级指标"),
    ("wording", r"[上下]N年|第N年服务费"),
]


def classify(text: str, s: int, t: int) -> str | None:
    line_start = text.rfind("\n", 0, s) + 1
    for reason, pattern in NON_FIGURE_RULES:
        rx = re.compile(pattern.replace("N", "(?:[0-9０-９]+|[一二三四五六七八九十两百千]+)"), re.M)
        for m in rx.finditer(text, max(line_start, s - 12), min(len(text), t + 12)):
            if m.start() <= s and t <= m.end():
                return reason
    return None


def main(root: Path) -> None:
    sources = read_csv(root / "data" / "sources.csv")
    errata = read_csv(root / "data" / "errata.csv")
    fig_rows, non_rows = [], []
    for src in sources:
        text = (root / src["path"]).read_bytes().decode("utf-8")
        spans = propose_spans(root, text, [e for e in errata if e["source_id"] == src["source_id"]])
        covered = set()
        for (res, key, col, fy, dept, sid), s, t in spans:
            fig_rows.append([res, key, col, fy, dept, sid, s, t, text[s:t]])
            covered.update(range(s, t))
        for m in NUMBER.finditer(text):
            if m.start() in covered:
                continue
            reason = classify(text, m.start(), m.end()) or REVIEW.get(m.start(), "REVIEW")
            if reason == "REVIEW":
                line = text.count("\n", 0, m.start()) + 1
                context = text[max(0, m.start() - 15):m.end() + 8].replace("\n", "⏎")
                print(f"REVIEW {m.start()} line {line} «{m.group()}»: {context}", file=sys.stderr)
            non_rows.append([src["source_id"], m.start(), m.end(), m.group(), reason])
    fig_rows.sort(key=lambda r: (r[0], r[1], r[2], r[6]))
    write_csv(root / "data" / "figure_sources.csv",
              ["resource", "row_key", "column", "fiscal_year", "department", "source_id", "start", "end", "printed"],
              fig_rows)
    write_csv(root / "data" / "non_figures.csv", ["source_id", "start", "end", "printed", "reason"], non_rows)
    print(f"{len(fig_rows)} figure spans, {len(non_rows)} non-figures", file=sys.stderr)


# start -> reason for the numbers no rule explains, decided in review (2026-11-29); a person confirms
REVIEW: dict[int, str] = {
    # 十九大, 十一届三次四次全会
    255: "session_number", 261: "session_number", 264: "session_number", 266: "session_number",
    273: "session_number", 275: "session_number", 277: "session_number", 279: "session_number",  # 四届五次六次七次全会
    316: "slogan", 325: "slogan", 334: "slogan", 2753: "slogan", 2762: "slogan", 2771: "slogan",  # 四个意识 …
    1241: "wording", 16327: "wording",  # 第三方 (a third party)
    1663: "wording", 17202: "wording",  # 两级 (both levels, city and county)
    2971: "wording",  # 第一责任人 (the person first responsible)
    8256: "wording",  # 一批 (a number of)
    5115: "extraction_artifact",  # image5.png, the file name of chart 图5
    5121: "axis_tick", 5127: "axis_tick", 5133: "axis_tick", 5139: "axis_tick",
    5145: "axis_tick", 5151: "axis_tick", 5157: "axis_tick", 5163: "axis_tick",
    5187: "chart_label", 5194: "chart_label",  # 2017年 / 2018年 under the bars, garbled to 20174 / 20184
    5265: "list_count",  # 主要用于以下5个方面: the five 类 listed right after
}

if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
