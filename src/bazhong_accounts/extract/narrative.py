"""The narrative-only Sichuan outline → a `Draft`.

Sichuan departments publish the 部门决算 as prose: 第二部分 ××年度部门决算情况说明 with the
sections 一、收入支出决算总体情况说明 … 十一、其他重要事项, the standard tables listed by title
only. The figures stand in sentences the provincial template fixes (``收入总计X万元 … 与上年相比，
收入总计增加Y万元，增长Z%``). This parser reads those sentence patterns, never a particular
report's values: the labels it knows (``LABELS``) are the outline's vocabulary, the 类/款/项
codes come from the classification of the year by name, project ids from the package's own
rows by name (else numbered).

Every printed figure gets a `Span`; a figure printed twice with two values, a project's table
that disagrees with its paragraph, and the accounting identities the report breaks become
`Break`s. Precision over recall: a sentence that does not fit a pattern gives no figure.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..checks.figure_sources import SIGN_WORDS, chinese_value
from ..model.descriptor import package_dir, read_descriptor, read_schema
from .items import EBT, INC, ITEMS, TPE
from .draft import Break, Draft, Span

NEGATIVE_WORDS = tuple(w for w, sign in SIGN_WORDS.items() if sign < 0)  # as the validator reads a span

RESOURCES = ("income", "expenditure_by_type", "expenditure_by_function", "three_public_expenses",
             "three_public_expenses_counts", "projects", "project_kpis", "indicators", "organisation")
NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"  # 3,200.67 or 3200.67
PCT = r"[%％]"
CN_NO = "一二三四五六七八九十"
# a section head numbered 一、… 十一、 on a line of its own (情况说明 and 部门概况 alike)
NUMBERED_HEAD = re.compile(rf"(?m)^[ \t\u3000]*([{CN_NO}]+、[^\n]+)$")

# ---------------------------------------------------------------- the outline's vocabulary

# section kind -> printed label -> the rows it names. A label matches as printed, or followed
# by 支出 ("公务接待费支出"). Quotes and spaces are ignored.
LABELS = {
    "overall": {"收入总计": [(INC, "total")], "年初结转和结余": [(INC, "carryover")],
                "一般公共预算财政拨款收入": [(INC, "gpb")], "支出总计": [(EBT, "total")],
                "收、支总计": [(INC, "total"), (EBT, "total")], "收支总计": [(INC, "total"), (EBT, "total")],
                "收入支出总计": [(INC, "total"), (EBT, "total")]},
    "income": {"本年收入合计": [(INC, "current_year_total")], "年初结转和结余": [(INC, "carryover")],
               "一般公共预算财政拨款收入": [(INC, "gpb")], "政府性基金预算财政拨款收入": [(INC, "gov_fund")],
               "国有资本经营预算财政拨款收入": [(INC, "state_capital")], "上级补助收入": [(INC, "superior_subsidy")],
               "事业收入": [(INC, "business")], "经营收入": [(INC, "operating")],
               "附属单位上缴收入": [(INC, "subordinate")], "其他收入": [(INC, "other")]},
    "expenditure": {"本年支出合计": [(EBT, "current_year_total")], "基本支出": [(EBT, "basic")],
                    "项目支出": [(EBT, "project")]},
    "fiscal": {"财政拨款收入总计": [(INC, "fiscal_total")], "财政拨款支出总计": [(EBT, "fiscal_total")],
               "财政拨款收、支总计": [(INC, "fiscal_total"), (EBT, "fiscal_total")],
               "财政拨款收支总计": [(INC, "fiscal_total"), (EBT, "fiscal_total")],
               "财政拨款收入支出总计": [(INC, "fiscal_total"), (EBT, "fiscal_total")]},
    "gpb": {"一般公共预算财政拨款": [(EBT, "gpb_total")], "一般公共预算": [(EBT, "gpb_total")]},
    "basic": {"人员经费": [(EBT, "personnel")], "公用经费": [(EBT, "public_funds")]},
    "three_public": {"三公经费财政拨款": [(TPE, "total")], "三公经费": [(TPE, "total")],
                     "因公出国（境）经费": [(TPE, "overseas")], "因公出国（境）费": [(TPE, "overseas")],
                     "因公出国（境）": [(TPE, "overseas")],
                     "公务用车购置及运行维护费": [(TPE, "vehicles")], "公务用车购置": [(TPE, "vehicle_purchase")],
                     "公务用车运行维护费": [(TPE, "vehicle_operation")], "公务接待费": [(TPE, "reception")]},
    "gov_fund": {"政府性基金预算拨款": [(EBT, "gov_fund_total")], "政府性基金预算财政拨款": [(EBT, "gov_fund_total")]},
    "state_capital": {"国有资本经营预算拨款": [(EBT, "state_capital_total")],
                      "国有资本经营预算财政拨款": [(EBT, "state_capital_total")],
                      "国有资本经营预算": [(EBT, "state_capital_total")]},
}

# heading keyword -> section kind, the most specific first (财政拨款收入支出决算总体情况 before 收入支出决算总体情况)
SECTION_KINDS = (
    ("财政拨款收入支出决算总体情况", "fiscal"), ("收入支出决算总体情况", "overall"),
    ("一般公共预算财政拨款基本支出", "basic"), ("一般公共预算财政拨款支出", "gpb"), ("三公", "three_public"),
    ("政府性基金", "gov_fund"), ("国有资本经营", "state_capital"), ("收入决算情况", "income"),
    ("支出决算情况", "expenditure"), ("绩效", "performance"), ("其他重要事项", "other"),
)

# a section's own total, and the labels of its parts that are the parts of all the year's spending
# when that total is all of it (财政拨款支出总计 = 本年支出合计: no other money was spent, so 财政拨款
# 基本支出 is the year's 基本支出); with another total they are other figures and stay unread
PARTS_OF_ALL = {
    "fiscal": ((EBT, "fiscal_total"), {"基本支出": (EBT, "basic"), "项目支出": (EBT, "project")}),
    "basic": ((EBT, "gpb_total"), {"一般公共预算财政拨款基本支出": (EBT, "basic")}),
    "overall": ((EBT, "total"), {"基本支出": (EBT, "basic"), "项目支出": (EBT, "project")}),
}

# groups whose parts the outline always prints all of: parent = sum(parts) can be checked
COMPLETE_GROUPS = (
    (EBT, "current_year_total", ("basic", "project")),
    (EBT, "basic", ("personnel", "public_funds")),
    (TPE, "total", ("overseas", "vehicles", "reception")),
    (TPE, "vehicles", ("vehicle_purchase", "vehicle_operation")),
)

# 三公 counts: count id -> (item_id, parent_count_id, name_zh, name_en, unit_en, pattern; group 1 the count, 2 the unit)
COUNTS = {
    "overseas_delegations": ("overseas", "", "因公出国（境）团组", "Official overseas delegations", "delegations",
                             r"团组\s*(\d+)\s*(次|个)"),
    "overseas_travellers": ("overseas", "", "出国（境）人数", "Overseas travellers", "persons",
                            r"出国（境）\s*(\d+)\s*(人)(?!次)"),
    "reception_batches": ("reception", "", "国内公务接待批次", "Domestic official receptions", "batches",
                          r"公务接待\s*(\d+)\s*(批次)"),
    "reception_person_times": ("reception", "", "国内公务接待人次", "Domestic official reception person-times",
                               "person-times", r"公务接待\s*\d+\s*批次\s*[，,、]\s*(\d+)\s*(人次)"),
}
# indicators the 其他重要事项 and 预算绩效 sections print: metric id -> (section kind, category,
# name_zh, name_en, unit_zh, unit_en, pattern; group `v` (or `v2`) the figure)
_YEAR = r"(?:\d{4}\s*年度?)?"
_WAN = ("万元", "10,000 yuan")
_PROJECTS = ("个", "projects")


def _money(words: str) -> str:
    return rf"{words}\s*(?P<v>{NUM})\s*万元"


INDICATORS: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "procurement_total": ("other", "procurement", "政府采购支出", "Government procurement spending", *_WAN,
                          _money(r"政府采购(?:支出|金额)(?:总额|合计)?(?:[（(][^）)]*[）)])?(?:为|共计)?")),
    "procurement_goods": ("other", "procurement", "政府采购货物支出", "Government procurement of goods", *_WAN,
                          _money(r"货物(?:采购)?(?:支出|金额)(?:为)?")),
    "procurement_works": ("other", "procurement", "政府采购工程支出", "Government procurement of works", *_WAN,
                          _money(r"工程(?:采购)?(?:支出|金额)(?:为)?")),
    "procurement_services": ("other", "procurement", "政府采购服务支出", "Government procurement of services", *_WAN,
                             _money(r"服务(?:采购)?(?:支出|金额)(?:为)?")),
    "procurement_sme_reserved_budget": (
        "other", "procurement", "面向中小企业预留政府采购项目预算金额",
        "Procurement budget reserved for small and medium enterprises", *_WAN,
        _money("面向中小企业预留政府采购项目预算金额")),
    "procurement_small_micro_reserved_budget": (
        "other", "procurement", "面向小微企业预留政府采购项目预算金额",
        "Procurement budget reserved for small and micro enterprises", *_WAN,
        _money("面向小微企业预留政府采购项目预算金额")),
    "vehicles_held": ("other", "assets", "共有车辆", "Vehicles held", "辆", "vehicles", r"共有车辆\s*(?P<v>\d+)\s*辆"),
    "equipment_over_1m_yuan": (
        "other", "assets", "单价100万元（含）以上设备（不含车辆）",
        "Equipment items of 1 million yuan or more each (vehicles excluded)", "台（套）", "items",
        r"单价\s*100\s*万元[（(]含[）)]以上(?:的)?设备[（(]不含车辆[）)]\s*(?P<v>\d+)\s*台"),
    "projects_with_targets": (
        "performance", "performance", "编制绩效目标的项目", "Projects with performance targets set", *_PROJECTS,
        rf"对\s*(?P<v>\d+)\s*个项目编制了?绩效目标|编报绩效目标的{_YEAR}项目\s*(?P<v2>\d+)\s*个"),
    "projects_with_targets_budget": (
        "performance", "performance", "编制绩效目标的项目涉及预算金额",
        "Budget of the projects with performance targets", *_WAN,
        _money(rf"编报绩效目标的{_YEAR}项目\s*\d+\s*个[，,]\s*涉及预算金额")),
    "projects_pre_assessed": (
        "performance", "performance", "开展预算事前绩效评估的项目",
        "Projects given an ex-ante performance assessment", *_PROJECTS,
        r"对\s*(?P<v>\d+)\s*个项目开展了?预算事前绩效评估"),
    "projects_monitored": (
        "performance", "performance", "开展绩效监控的项目", "Projects under performance monitoring", *_PROJECTS,
        r"选取\s*(?P<v>\d+)\s*个项目开展绩效监控"),
    "projects_tracked": (
        "performance", "performance", "绩效跟踪评价的项目", "Projects given performance tracking", *_PROJECTS,
        rf"绩效跟踪评价的{_YEAR}项目\s*(?P<v>\d+)\s*个"),
    "projects_completion_reported": (
        "performance", "performance", "开展绩效目标完成情况梳理填报的项目",
        "Projects whose target completion was reviewed and reported", *_PROJECTS,
        r"对\s*(?P<v>\d+)\s*个项目开展了?绩效目标完成情况梳理填报"),
    "projects_reflected_in_accounts": (
        "performance", "performance", "部门决算中反映绩效目标实际完成情况的项目",
        "Projects whose target completion is reported in the final accounts", *_PROJECTS,
        r"决算中反映[^。]{0,80}?(?P<v>\d+)\s*个项目绩效目标实际完成情况"),
    "projects_self_evaluated": (
        "performance", "performance", "自行组织绩效评价的项目",
        "Projects given a self-organised performance evaluation", *_PROJECTS,
        rf"自行组织了?\s*(?P<v>\d+)\s*个项目绩效评价|绩效自评的{_YEAR}项目\s*(?P<v2>\d+)\s*个"),
    "projects_self_evaluated_budget": (
        "performance", "performance", "绩效自评项目涉及预算金额", "Budget of the self-evaluated projects", *_WAN,
        _money(rf"绩效自评的{_YEAR}项目\s*\d+\s*个[，,]\s*涉及预算金额")),
    "projects_self_evaluated_mean_score": (
        "performance", "performance", "绩效自评项目平均得分", "Mean self-evaluation score of the projects", "分",
        "points", rf"平均得分\s*(?P<v>{NUM})\s*分"),
}
VEHICLE_KINDS = {"轿车": ("vehicles_sedan", "Sedans"), "越野车": ("vehicles_suv", "Off-road vehicles (SUVs)")}


# ---------------------------------------------------------------- the outline: sections


@dataclass
class Section:
    kind: str
    path: str  # 第二部分 2018年度部门决算情况说明 > 三、支出决算情况说明
    start: int
    end: int


def squeeze(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def parts_named(text: str, word: str) -> list[tuple[str, int, int]]:
    """Each part (第一部分 …) whose heading holds `word`: (its heading, start, end)."""
    parts = list(re.finditer(rf"(?m)^[ \t\u3000]*(第[{CN_NO}]+部分)[ \t\u3000]*(\S[^\n]*)$", text))
    return [(squeeze(f"{m.group(1)} {m.group(2)}"), m.end(), parts[i + 1].start() if i + 1 < len(parts) else len(text))
            for i, m in enumerate(parts) if word in m.group(2)]


def explanation_part(text: str) -> tuple[str, int, int] | None:
    """The 部门决算情况说明 part: (its heading, start, end)."""
    found = parts_named(text, "决算情况说明")
    # a table of contents names the part too: the part is the one that prints figures
    return max(found, key=lambda f: text.count("万元", f[1], f[2])) if found else None


def sections(text: str) -> list[Section]:
    """The numbered sections (一、… 十一、) of the 情况说明 part, each with its kind."""
    part = explanation_part(text)
    if part is None:
        return []
    title, start, end = part
    heads = list(NUMBERED_HEAD.finditer(text[start:end]))
    if not heads:  # a report numbering its sections （一）（二）…
        heads = list(re.finditer(rf"(?m)^[ \t\u3000]*([（(][{CN_NO}]+[)）][^\n]+)$", text[start:end]))
    out = []
    for i, m in enumerate(heads):
        s = start + m.start()
        e = start + heads[i + 1].start() if i + 1 < len(heads) else end
        heading = squeeze(m.group(1))
        kind = next((k for word, k in SECTION_KINDS if word in heading), "")
        out.append(Section(kind, f"{title} > {heading}", s, e))
    return out


HEADING = re.compile(rf"^(?:第[{CN_NO}]+部分|[{CN_NO}]+、|[（(][{CN_NO}]+[)）]|\d+[.、．](?!\d)|图\s*\d|表\s*\d)")
SECTION_HEADING = re.compile(rf"^(?:第[{CN_NO}]+部分|[{CN_NO}]+、|[（(][{CN_NO}]+[)）])")
SPACES = " \u3000\xa0\u2002\u2003\u2009\u200b"  # what reports put between words: ASCII, full-width, no-break
NUMERIC_LINE = re.compile(r"[\d.,\s%％]+")


def wrapped(a: str, b: str) -> bool:
    """Does line `b` continue the sentence of line `a` (a line wrapped by a PDF's page width)?"""
    x, y = a.strip(), b.strip()
    if a.startswith("\t") or b.startswith("\t") or NUMERIC_LINE.fullmatch(x) or NUMERIC_LINE.fullmatch(y):
        return False  # table cells, chart labels
    if x[-1] in "。！？；：:;!?" or HEADING.match(y):
        return False
    if len(y) <= 4:
        return True  # a short tail: 说明 under 第三部分 ××部门决算情况
    return not SECTION_HEADING.match(x) and len(x) >= 12


def cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" or "\u2018" <= c <= "\u201d"


def spaces_beside_cjk(line: str) -> set[int]:
    """Positions of the runs of spaces that touch a Chinese character on either side."""
    out: set[int] = set()
    for run in re.finditer(f"[{SPACES}]+", line):
        a, b = run.start(), run.end()
        if a and cjk(line[a - 1]) or b < len(line) and cjk(line[b]):
            out.update(range(a, b))
    return out


def flatten(text: str) -> tuple[str, list[int]]:
    """The text as the sentence patterns want it: a wrapped sentence on one line, no spaces beside
    Chinese characters (2024 年度 → 2024年度); and, per character, its offset in `text`, so that
    every span still points into the archived text."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    filled = [i for i, line in enumerate(lines) if line.strip()]
    joined: set[int] = set()  # lines whose newline (and the blank lines after) are dropped
    for a, b in zip(filled, filled[1:], strict=False):
        if wrapped(lines[a], lines[b]):
            joined.update(range(a, b))
    chars: list[str] = []
    where: list[int] = []
    for i, line in enumerate(lines):
        lo, hi = 0, len(line)
        if i in joined:
            hi = len(line.rstrip(SPACES + "\r"))
        if i - 1 in joined:
            lo = len(line) - len(line.lstrip(SPACES + "\t"))
        drop = spaces_beside_cjk(line)  # spaces a PDF puts around numbers in Chinese text
        for j in range(lo, hi):
            c = line[j]
            if c == "\f" or j in drop:
                continue  # and page breaks
            chars.append(c)
            where.append(starts[i] + j)
        if i < len(lines) - 1 and i not in joined:
            chars.append("\n")
            where.append(starts[i] + len(line))
    return "".join(chars), where


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (up to 。 or the line end) holding text[start:end], without edge spaces."""
    s = max(text.rfind("。", 0, start), text.rfind("\n", 0, start)) + 1
    stops = [i for i in (text.find("。", end), text.find("\n", end)) if i >= 0]
    e = min(stops) + 1 if stops else len(text)
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


# ---------------------------------------------------------------- located figures and the cells they fill


@dataclass
class Printed:
    value: str  # CSV text ("-2.89" for a printed 减少2.89)
    start: int
    end: int
    section: Section


@dataclass
class RowDraft:
    resource: str
    key: str
    meta: dict[str, str]
    figures: dict[str, list[Printed]] = field(default_factory=dict)
    derived: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (value, rule)
    quote_extra: list[str] = field(default_factory=list)
    section: str = ""


def dec(s: str) -> Decimal:
    return Decimal(s.replace(",", ""))


def fmt(d: Decimal) -> str:
    """A Decimal as plain text, no exponent, no trailing zeros (for derived values)."""
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def rate_ok(part: Decimal, base: Decimal, printed: str) -> bool:
    """`printed` is part / base * 100 rounded half up to its own decimals (the validator's rule)."""
    if base == 0:
        return False
    decimals = len(printed) - printed.find(".") - 1 if "." in printed else 0
    half = Decimal(5).scaleb(-(decimals + 1))
    p = dec(printed)
    scaled = abs(part) * 100
    sign_ok = p == 0 or (part < 0) == (p < 0)
    return (abs(p) - half) * abs(base) <= scaled < (abs(p) + half) * abs(base) and sign_ok


def rate_text(part: Decimal, base: Decimal) -> str:
    """part / base × 100 to two decimals; "" when the base is 0 (no rate exists: the break's
    `where` says so)."""
    return fmt((part / base * 100).quantize(Decimal("0.01"))) if base else ""


class Parser:
    def __init__(self, text: str, department: str, fiscal_year: int, source_id: str, refs: "References",
                 names: tuple[str, ...] = ()):
        self.names = [n for n in names if n]  # the department's Chinese names (full, short)
        self.original = text
        self.text, self.where = flatten(text)  # the parser reads the flat text; spans point into `text`
        self.department = department
        self.fiscal_year = fiscal_year
        self.source_id = source_id
        self.refs = refs
        self.rows: dict[tuple[str, str], RowDraft] = {}
        self.breaks: list[Break] = []

    # ---- cells

    def verbatim(self, start: int, end: int) -> str:
        """The original text behind flat text[start:end] (quotes must stand in the archive)."""
        return self.original[self.where[start]:self.where[end - 1] + 1] if end > start else ""

    def quote(self, start: int, end: int) -> str:
        """The sentence holding a figure, verbatim from the archived text: its quote."""
        return self.verbatim(*sentence_bounds(self.text, start, end))

    def span(self, resource: str, key: str, column: str, p: Printed) -> Span:
        """The printed number; a negative figure's span reaches back over its sign word (减少2.89,
        减少 2.89 in a PDF) when only white space stands between them, so that what it prints
        states the value."""
        start, end = self.where[p.start], self.where[p.end - 1] + 1
        word = next((w for w in NEGATIVE_WORDS if self.text.endswith(w, 0, p.start)), None)
        if p.value.startswith("-") and word:
            word_start = self.where[p.start - len(word)]
            if re.fullmatch(re.escape(word) + r"\s*", self.original[word_start:start]):
                start = word_start
        return Span(resource, key, column, start, end, self.original[start:end])

    def row(self, resource: str, key: str, meta: dict[str, str] | None = None) -> RowDraft:
        if (resource, key) not in self.rows:
            self.rows[resource, key] = RowDraft(resource, key, meta or {})
        return self.rows[resource, key]

    def item_row(self, resource: str, item_id: str) -> RowDraft:
        parent, breakdown, zh, en = ITEMS[resource][item_id]
        return self.row(resource, item_id, {"item_id": item_id, "parent_item_id": parent, "breakdown": breakdown,
                                            "name_zh": zh, "name_en": en})

    def put(self, row: RowDraft, column: str, value: str, start: int, end: int, section: Section) -> None:
        """One printed occurrence of a cell's figure (thousands separators dropped from the value)."""
        row.figures.setdefault(column, []).append(Printed(value.replace(",", ""), start, end, section))
        row.section = row.section or section.path

    # ---- sentence patterns

    def label_targets(self, kind: str, label: str) -> list[tuple[str, str]]:
        vocab = LABELS.get(kind, {})
        norm = clean_label(label)
        for key, targets in vocab.items():
            k = strip_quotes(key)
            if norm in (k, k + "支出"):
                return targets
        return []

    def money(self, sec: Section):
        """Every `label X万元` of a section: (label, value match)."""
        body = self.text[sec.start:sec.end]
        for m in re.finditer(rf"(?P<num>{NUM})\s*万元", body):
            cut = max(body.rfind(c, 0, m.start()) for c in "，。；：,;:\n")
            yield body[cut + 1:m.start()], sec.start + m.start("num"), sec.start + m.end("num"), sec.start + m.end()

    def after(self, pos: int, pattern: str) -> re.Match | None:
        return re.compile(pattern).match(self.text, pos)

    def amounts(self, sec: Section) -> None:
        for label, s, e, tail in self.money(sec):
            targets = self.label_targets(sec.kind, label) or self.parts_of_all(sec.kind, label)
            for resource, item_id in targets:
                self.amount_with_rates(self.item_row(resource, item_id), s, e, tail, sec)

    def parts_of_all(self, kind: str, label: str) -> list[tuple[str, str]]:
        """The year's 基本支出/项目支出 printed under a section's own total (PARTS_OF_ALL), when
        that total, as printed, is the year's whole spending (本年支出合计)."""
        total, parts = PARTS_OF_ALL.get(kind, (None, {}))
        target = parts.get(clean_label(label))
        if target is None:
            return []
        own, year = self.first_value(*total, "amount"), self.first_value(EBT, "current_year_total", "amount")
        return [target] if own is not None and own == year else []

    def first_value(self, resource: str, key: str, column: str) -> Decimal | None:
        row = self.rows.get((resource, key))
        printed = row.figures.get(column) if row else None
        return dec(printed[0].value) if printed else None

    def repeat(self, resource: str, key: str, column: str, s: int, e: int, sec: Section) -> None:
        """A figure the report prints again with the same value (in a summary, an appendix): one
        more span of the cell; a different value is left for a person (it is not named enough
        to be a second reading of the cell)."""
        if self.first_value(resource, key, column) == dec(self.text[s:e]):
            self.put(self.rows[resource, key], column, self.text[s:e], s, e, sec)

    def amount_with_rates(self, row: RowDraft, s: int, e: int, tail: int, sec: Section) -> None:
        """X万元 and what follows it in the same clause: ，占Y% and ，完成预算Z%."""
        self.put(row, "amount", self.text[s:e], s, e, sec)
        share = self.after(tail, rf"\s*[，,]?\s*占(?:[^，。；\d]{{0,12}}的)?\s*({NUM})\s*{PCT}")
        if share:
            self.put(row, "share_pct", share.group(1), share.start(1), share.end(1), sec)
            tail = share.end()
        done = self.after(tail, rf"\s*[，,]?\s*完成(?:全年|年初)?预算(?:数)?的?\s*({NUM})\s*{PCT}")
        if done:
            self.put(row, "budget_completion_pct", done.group(1), done.start(1), done.end(1), sec)
            tail = done.end()
        self.note(row, tail, r"\s*[，,]\s*(决算数[^。\n]*原因[^。\n]*。)|\s*。\s*(主要用于[^。\n]*。)")

    def note(self, row: RowDraft, pos: int, pattern: str) -> None:
        """The reason or use the report gives right after a figure, as note_zh (first one wins)."""
        m = self.after(pos, pattern)
        if m and row.resource in self.refs.schemas and "note_zh" in self.refs.fields(row.resource) \
                and not row.meta.get("note_zh"):
            row.meta["note_zh"] = next(g for g in m.groups() if g)

    def changes(self, sec: Section) -> None:
        """与上年相比，L增加X万元，增长Y% and L比上年减少X万元，下降Y%."""
        year = r"(?:\d{4}\s*年度?|上年度?)"
        tail = (rf"(?P<dir>增加|减少)\s*(?P<amt>{NUM})\s*万元\s*[，,]\s*"
                rf"(?P<dir2>增长|上升|下降|减少)\s*(?P<pct>{NUM})\s*{PCT}")
        patterns = (rf"与{year}相比\s*[，,]?\s*(?P<label>[^，。；：\d]*?)各?{tail}",
                    rf"(?P<label>[^，。；：\d]*?)(?:比|较){year}{tail}")
        body = self.text[sec.start:sec.end]
        for pattern in patterns:
            for m in re.finditer(pattern, body):
                for resource, item_id in self.label_targets(sec.kind, m.group("label")):
                    row = self.item_row(resource, item_id)
                    sign = "-" if m.group("dir") == "减少" else ""
                    sign_pct = "-" if m.group("dir2") in ("下降", "减少") else ""
                    self.put(row, "change_amount", sign + m.group("amt"), sec.start + m.start("amt"),
                             sec.start + m.end("amt"), sec)
                    self.put(row, "change_pct", sign_pct + m.group("pct"), sec.start + m.start("pct"),
                             sec.start + m.end("pct"), sec)
                    self.prior_year_from_chart(row, sec)
                    self.note(row, sec.start + m.end(), r"\s*。\s*(主要(?:变动)?原因[^。\n]*。)")

    def prior_year_from_chart(self, row: RowDraft, sec: Section) -> None:
        """A chart's data labels survive as bare numbers on their own lines; the one equal to
        amount - change is the prior-year amount printed in the chart (checked, so never guessed)."""
        amount = row.figures.get("amount")
        change = row.figures.get("change_amount")
        if not amount or not change or "prior_year_amount" in row.figures:
            return
        prior = dec(amount[0].value) - dec(change[-1].value)
        body = self.text[sec.start:sec.end]
        labels = list(re.finditer(r"(?m)^[ \t]*(\d+(?:\.\d+)?)[ \t]*$", body))
        shown = [m for m in labels if dec(m.group(1)) == dec(amount[0].value)]
        if not shown:
            return  # the chart does not show this row's amount: not its chart
        self.put(row, "amount", shown[0].group(1), sec.start + shown[0].start(1), sec.start + shown[0].end(1), sec)
        for m in labels:
            if dec(m.group(1)) == prior and "." in m.group(1):
                self.put(row, "prior_year_amount", m.group(1), sec.start + m.start(1), sec.start + m.end(1), sec)
                return

    def gpb_completion(self, sec: Section) -> None:
        """一般公共预算支出决算数为X，完成预算Y%: the template prints this amount without 万元."""
        known = self.rows.get((EBT, "gpb_total"))
        if known and "budget_completion_pct" in known.figures:
            return
        m = re.search(rf"一般公共预算(?:财政拨款)?支出决算数?为\s*(?P<num>{NUM})(?!\s*万元)\s*[，,]\s*完成预算的?\s*"
                      rf"(?P<pct>{NUM})\s*{PCT}", self.text[sec.start:sec.end])
        if m:
            row = self.item_row(EBT, "gpb_total")
            self.put(row, "amount", m.group("num"), sec.start + m.start("num"), sec.start + m.end("num"), sec)
            at = sec.start
            self.put(row, "budget_completion_pct", m.group("pct"), at + m.start("pct"), at + m.end("pct"), sec)

    # ---- 类/款/项

    def functions(self, sec: Section) -> None:
        items: dict[str, list] = {}
        for label, s, e, tail in self.money(sec):
            m = re.fullmatch(r"(?P<name>.+?[（(]类[）)])(?:支出)?", clean_label(label))
            code = self.refs.code(self.fiscal_year, [m.group("name")]) if m else None
            if m and code:
                self.amount_with_rates(self.function_row(code, m.group("name")), s, e, tail, sec)
        body = self.text[sec.start:sec.end]
        line = (rf"(?m)^[ \t\u3000]*(?:\d+[.、．])?\s*(?P<lei>[^\n。；]+?[（(]类[）)])(?P<kuan>[^\n。；]+?[（(]款[）)])"
                rf"(?P<xiang>[^\n。；]+?[（(]项[）)])\s*[:：]?\s*支出决算(?:数)?为?\s*(?P<num>{NUM})\s*万元")
        for m in re.finditer(line, body):
            names = [m.group("lei"), m.group("kuan"), m.group("xiang")]
            code = self.refs.code(self.fiscal_year, names)
            if not code:
                continue  # a name the classification of the year does not know: leave it out
            row = self.function_row(code, names[2].strip())
            self.amount_with_rates(row, sec.start + m.start("num"), sec.start + m.end("num"), sec.start + m.end(), sec)
            reason = re.match(r"[^。\n]*?[，,]\s*(决算数[^。\n]*原因[^。\n]*。)", self.text[sec.start + m.end():])
            if reason:
                row.meta["reason_zh"] = reason.group(1)
            items.setdefault(code[:5], []).append((row, names[1].strip(), self.verbatim(sec.start + m.start("kuan"),
                                                                                           sec.start + m.end("kuan"))))
        self.derive_kuan(items, sec)

    def function_row(self, code: str, name_zh: str) -> RowDraft:
        ref = self.refs.classification(self.fiscal_year)[code]
        return self.row("expenditure_by_function", code, {
            "code": code, "level": ref["level"], "parent_code": ref["parent_code"], "name_zh": name_zh,
            "name_en": ref["name_en"]})

    def derive_kuan(self, items: dict[str, list], sec: Section) -> None:
        """款 = sum of its 项, derived, only where the 项 of the whole 类 add up to the printed 类
        amount (then no 项 is missing from the narrative)."""
        by_lei: dict[str, Decimal] = {}
        for kuan, rows in items.items():
            part = sum(dec(r.figures["amount"][0].value) for r, _, _ in rows)
            by_lei[kuan[:3]] = by_lei.get(kuan[:3], Decimal(0)) + part
        for kuan, rows in items.items():
            lei = self.rows.get(("expenditure_by_function", kuan[:3]))
            if lei is None or "amount" not in lei.figures or dec(lei.figures["amount"][0].value) != by_lei[kuan[:3]]:
                continue
            total = sum((dec(r.figures["amount"][0].value) for r, _, _ in rows), Decimal(0))
            row = self.function_row(kuan, rows[0][1])
            row.derived["amount"] = (fmt(total), "sum(children)")
            row.quote_extra.append(rows[0][2])
            row.section = sec.path

    # ---- 三公 counts

    def counts(self, sec: Section) -> None:
        body = self.text[sec.start:sec.end]
        for count_id, (item_id, parent, zh, en, unit_en, pattern) in COUNTS.items():
            m = re.search(pattern, body)
            if m:
                self.count(count_id, item_id, parent, zh, en, m.group(2), unit_en, sec.start + m.start(1),
                           sec.start + m.end(1), sec)
        paid = re.search(rf"公务接待\s*\d+\s*批次[^。]*?共计支出\s*({NUM})\s*万元", body)
        if paid and (TPE, "reception") in self.rows:  # 国内公务接待39批次，385人次，共计支出9.82万元
            self.repeat(TPE, "reception", "amount", sec.start + paid.start(1), sec.start + paid.end(1), sec)
        m = re.search(r"(?:截至(?P<date>\d{4}年\d{1,2}月\d{1,2}日)[，,]?)?[^。；\n]{0,8}?共有公务用车\s*(?P<n>\d+)\s*辆"
                      r"(?:（(?P<kinds>[^）]*)）|[，,]\s*其中[:：]\s*(?P<listed>[^。；\n]*))?", body)
        if not m:
            return
        date = m.group("date")
        zh, en = "公务用车", "Official vehicles"
        if date:
            y, mo, d = re.findall(r"\d+", date)
            zh, en = f"公务用车（截至{date}）", f"Official vehicles (as of {y}-{int(mo):02d}-{int(d):02d})"
        at = sec.start
        self.count("vehicles", "vehicles", "", zh, en, "辆", "vehicles", at + m.start("n"), at + m.end("n"), sec)
        group = "kinds" if m.group("kinds") is not None else "listed"  # （轿车4辆、越野车6辆） or ，其中：轿车4辆…
        for k in re.finditer(r"(?P<kind>[^、，,\d]+?)\s*(?P<n>\d+)\s*辆", m.group(group) or ""):
            kind = k.group("kind").strip()
            if kind in VEHICLE_KINDS:
                cid, kind_en = VEHICLE_KINDS[kind]
                at = m.start(group) + sec.start
                self.count(cid, "vehicles", "vehicles", kind, kind_en, "辆", "vehicles", at + k.start("n"),
                           at + k.end("n"), sec)

    def count(self, count_id, item_id, parent, zh, en, unit_zh, unit_en, s, e, sec) -> None:
        row = self.row("three_public_expenses_counts", count_id, {
            "count_id": count_id, "item_id": item_id, "parent_count_id": parent, "name_zh": zh, "name_en": en,
            "unit_zh": unit_zh, "unit_en": unit_en})
        self.put(row, "value", self.text[s:e], s, e, sec)

    # ---- indicators: 机关运行经费, 政府采购, assets, performance management

    def indicators(self, sec: Section) -> None:
        body = self.text[sec.start:sec.end]
        for metric, (kind, category, zh, en, unit_zh, unit_en, pattern) in INDICATORS.items():
            m = re.search(pattern, body) if kind == sec.kind else None
            if m:
                g = "v" if m.group("v") is not None else "v2"
                self.indicator(metric, category, zh, en, unit_zh, unit_en, m.group(g), sec.start + m.start(g),
                               sec.start + m.end(g), sec)
        self.operating_costs(sec, body)

    def operating_costs(self, sec: Section, body: str) -> None:
        """机关运行经费支出X万元，比上年增加Y万元，增长Z%."""
        if sec.kind != "other":
            return
        m = re.search(rf"机关运行经费(?:支出)?(?:为)?\s*(?P<v>{NUM})\s*万元"
                      rf"(?:\s*[，,]\s*(?:比|较)(?P<year>\d{{4}})?\s*年?度?"
                      rf"(?:上年度?)?(?P<dir>增加|减少)\s*(?P<c>{NUM})\s*万元\s*[，,]\s*(?P<dir2>增长|上升|下降|减少)\s*"
                      rf"(?P<p>{NUM})\s*{PCT})?", body)
        if not m:
            return
        at = sec.start
        self.indicator("operating_costs", "operating_costs", "机关运行经费支出", "Administrative operating costs",
                       *_WAN, m.group("v"), at + m.start("v"), at + m.end("v"), sec)
        if m.group("c") is None:
            return
        prev = m.group("year") or str(self.fiscal_year - 1)
        word, sign = ("增加", "") if m.group("dir") == "增加" else ("减少", "-")
        self.indicator("operating_costs_change", "operating_costs", f"机关运行经费比{prev}年{word}",
                       f"Administrative operating costs, change on {prev}", "万元", "10,000 yuan", sign + m.group("c"),
                       at + m.start("c"), at + m.end("c"), sec)
        sign = "-" if m.group("dir2") in ("下降", "减少") else ""
        self.indicator("operating_costs_change_pct", "operating_costs", f"机关运行经费{m.group('dir2')}",
                       f"Administrative operating costs, change on {prev} (%)", "%", "percent", sign + m.group("p"),
                       at + m.start("p"), at + m.end("p"), sec)

    def indicator(self, metric, category, zh, en, unit_zh, unit_en, value, s, e, sec) -> None:
        row = self.row("indicators", metric, {"metric_id": metric, "category": category, "name_zh": zh, "name_en": en,
                                              "unit_zh": unit_zh, "unit_en": unit_en, "qualifier": "exact"})
        self.put(row, "value", value, s, e, sec)

    # ---- projects

    def projects(self, sec: Section) -> None:
        body = self.text[sec.start:sec.end]
        paras = list(re.finditer(
            rf"(?m)^[ \t\u3000]*(?P<no>\d+)[.、．]\s*(?P<title>[^\n]*?)"
            rf"项目(?:绩效目标完成情况|绩效评价|绩效自评)?综述[。.：:]?\s*"
            rf"项目全年预算数为\s*(?P<budget>{NUM})\s*万元\s*[，,]\s*执行数为\s*(?P<executed>{NUM})\s*万元\s*[，,]\s*"
            rf"完成预算的\s*(?P<pct>{NUM})\s*{PCT}(?P<rest>[^\n]*)", body))
        found = (self.project_table(sec, m.start()) for m in re.finditer("项目支出绩效目标完成情况表", body))
        tables = [t for t in found if t]
        pairs = self.pair(paras, tables)
        for n, (para, table) in enumerate(pairs, 1):
            self.project(n, para, table, sec)

    @staticmethod
    def pair(paras: list, tables: list) -> list[tuple]:
        """Paragraph i goes with table i when both list the same number of projects and the
        executed amounts agree; otherwise a paragraph pairs with the one table printing its
        executed amount, and an unpaired table stands alone."""
        def agree(p, t) -> bool:
            return "executed" in t and dec(t["executed"][0]) == dec(p.group("executed"))

        if len(paras) == len(tables) and all(agree(p, t) for p, t in zip(paras, tables, strict=True)):
            return list(zip(paras, tables, strict=True))
        out, used = [], set()
        for p in paras:
            same = [i for i, t in enumerate(tables) if agree(p, t)]
            if len(same) == 1 and same[0] not in used:
                used.add(same[0])
                out.append((p, tables[same[0]]))
        out += [(None, t) for i, t in enumerate(tables) if i not in used]
        return out

    def project_table(self, sec: Section, at: int) -> dict | None:
        """The 项目支出绩效目标完成情况表 at `at`: cell label -> [value, start, end], in order; a
        cell is a tab-led line, continued by the untabbed lines below it."""
        end = self.text.find("项目支出绩效目标完成情况表", sec.start + at + 5)
        end = sec.end if end < 0 or end > sec.end else end
        cells: list[list] = []
        pos = sec.start + at
        for line in self.text[pos:end].split("\n"):
            if line.startswith("\t") and line.strip():
                s = pos + len(line) - len(line.lstrip())
                cells.append([line.strip(), s, s + len(line.strip())])
            elif line.strip() and cells and not line.startswith("\t"):
                cells[-1][0] += "\n" + line.strip()
            pos += len(line) + 1
        out: dict = {}
        slots = {"预算数:": ["budget"], "执行数:": ["executed"], "其中-财政拨款:": ["budget_fiscal", "executed_fiscal"],
                 "其他资金:": ["budget_other", "executed_other"]}
        seen: dict[str, int] = {}
        for i, (cell, _, _) in enumerate(cells[:-1]):
            nxt = cells[i + 1]
            if cell == "项目名称":
                out["name"] = nxt[0]
            elif cell == "预算单位":
                out["unit"], out["unit_at"] = nxt[0], (nxt[1], nxt[2])
            elif cell in slots and seen.get(cell, 0) < len(slots[cell]):
                col = slots[cell][seen.get(cell, 0)]
                seen[cell] = seen.get(cell, 0) + 1
                v = re.fullmatch(rf"({NUM})\s*(?:万元)?", nxt[0])
                if v:
                    out[col] = (v.group(1), nxt[1], nxt[1] + len(v.group(1)))
            elif cell == "实际完成目标" and i + 2 < len(cells):
                out["expected_goal_zh"], out["achieved_goal_zh"] = nxt[0], cells[i + 2][0]
        out["extent"] = (sec.start + at, end)
        return out if "name" in out else None

    def kpi_rows(self, pid: str, start: int, end: int, sec: Section) -> None:
        """The 绩效指标完成情况 grid of a project table as project_kpis rows: after its header
        (一级指标 … 实际完成指标值), one row per blank-line-separated block, its last five cells
        the levels, the expected and the actual value; a value cell that is one number (100%) is
        also its figure."""
        head = re.search(r"\n\t实际完成指标值[^\n]*", self.text[start:end])
        if head is None:
            return
        english = self.kpi_level_english()
        pos = start + head.end()
        for n, block in enumerate(b for b in re.finditer(r"(?:\t[^\n]*(?:\n[^\t\n][^\n]*)*\n?)+",
                                                          self.text[pos:end]) if b.group().strip()):
            cells = [c for c in self.cells_of(pos + block.start(), pos + block.end())][-5:]
            if len(cells) < 5:
                break  # not a row of the grid: the grid is over
            values = dict(zip(("level1_zh", "level2_zh", "level3_zh", "expected_zh", "actual_zh"),
                              (c[0] for c in cells), strict=True))
            level1 = values["level1_zh"]
            row = self.row("project_kpis", f"{pid}|{n + 1}", {
                "project_id": pid, "row_no": str(n + 1), **values,
                "level1_en": english.get(level1, f"{level1} (to be translated)" if level1 else "")})
            row.section = sec.path
            row.quote_extra += [self.verbatim(s, e) for text, s, e in cells if text]
            for (text, s, _), column in zip(cells[3:], ("expected_number", "actual_number"), strict=True):
                m = re.fullmatch(rf"({NUM})\s*([%％])?", text)
                if m:
                    self.put(row, column, m.group(1), s, s + len(m.group(1)), sec)
                    row.meta["number_unit_zh"] = "%" if m.group(2) else ""

    def cells_of(self, start: int, end: int) -> list[tuple[str, int, int]]:
        """The tab-led cells of flat text[start:end]: (text, start, end), an untabbed line
        continuing the cell above it."""
        cells: list[list] = []
        pos = start
        for line in self.text[start:end].split("\n"):
            if line.startswith("\t"):
                lead = len(line) - len(line.lstrip())
                cells.append([line.strip(), pos + lead, pos + lead + len(line.strip())])
            elif line.strip() and cells:
                cells[-1][0] += "\n" + line.strip()
                cells[-1][2] = pos + len(line.rstrip())
            pos += len(line) + 1
        return [(c[0], c[1], c[2]) for c in cells]

    def kpi_level_english(self) -> dict[str, str]:
        """English of a 一级指标 as the package's project_kpis rows give it (where they agree)."""
        return agreed_english(self.refs.rows("project_kpis"), "level1_zh", "level1_en")

    def project(self, n: int, para, table: dict, sec: Section) -> None:
        name = table["name"]
        pid = self.refs.project_id(self.department, name) or f"project_{n}"
        unit_id = ""
        if "unit" in table:
            start, end = table["unit_at"]
            unit_id = self.unit(table["unit"], start, end, sec)
        meta = {"project_id": pid, "name_zh": name, "name_en": self.refs.project_name_en(self.department, name) or name,
                "unit_id": unit_id, "unit_name_zh": table.get("unit", ""),
                "expected_goal_zh": table.get("expected_goal_zh", ""),
                "achieved_goal_zh": table.get("achieved_goal_zh", "")}
        row = self.row("projects", pid, meta)
        if "project_kpis" in self.refs.schemas:
            self.kpi_rows(pid, *table["extent"], sec)
        for col in ("budget", "executed", "budget_fiscal", "budget_other", "executed_fiscal", "executed_other"):
            if col in table:
                v, s, e = table[col]
                self.put(row, col, v, s, e, sec)
        if para is not None:
            at = sec.start
            # the paragraph first: it is the figure the printed completion rate is computed on
            for col in ("budget", "executed"):
                printed = Printed(para.group(col).replace(",", ""), at + para.start(col), at + para.end(col), sec)
                row.figures.setdefault(col, []).insert(0, printed)
            self.put(row, "completion_pct", para.group("pct"), at + para.start("pct"), at + para.end("pct"), sec)
            rest = para.group("rest")
            for col, pattern in (("outcome_zh", r"(通过项目实施[，,][^。]*。)"),
                                 ("problems_zh", r"发现的主要问题[:：]\s*([^。]*。)"),
                                 ("improvements_zh", r"下一步改进措施[:：]\s*([^。]*。)")):
                m = re.search(pattern, rest)
                if m:
                    row.meta[col] = m.group(1)
        self.table_breaks(row, table, sec)

    # ---- the units projects name (预算单位), as organisation rows so that unit_id refers to one

    def unit(self, printed: str, start: int, end: int, sec: Section) -> str:
        """unit_id of a printed 预算单位: the department itself (root), else a unit under it; the
        package's id and type when it knows the unit, else a type read from the name's ending
        (办 → administrative_body, 中心 → public_institution …); "" when neither."""
        known = self.refs.unit(self.department, printed)
        root = self.refs.root_unit(self.department)
        root_id = (root or {}).get("unit_id", "department")
        if (known and not known["parent_unit_id"]) or any(n == printed or n.endswith(printed) for n in self.names):
            uid, parent, kind = root_id, "", "department"
        else:
            kind = known["unit_type"] if known else unit_type(printed)
            made = sum(1 for (r, k) in self.rows if r == "organisation" and k.startswith("unit_")) + 1
            uid = known["unit_id"] if known else (f"unit_{made}" if kind else "")
            parent = root_id
        if not uid:
            return ""
        row = self.row("organisation", uid, {"unit_id": uid, "parent_unit_id": parent, "unit_type": kind,
                                             "name_zh": printed, "name_en": (known or {}).get("name_en") or printed})
        row.section = row.section or sec.path
        if not row.quote_extra:
            row.quote_extra.append(self.verbatim(start, end))
        return uid

    def organisation_root(self) -> None:
        """Units hang under the department: a root located in the text, or no organisation rows."""
        units = [k for (r, k) in self.rows if r == "organisation"]
        if not units or any(not self.rows["organisation", k].meta["parent_unit_id"] for k in units):
            return
        root_id = self.rows["organisation", units[0]].meta["parent_unit_id"]
        for name in self.names:
            at = self.text.find(name)
            if at >= 0:
                known = self.refs.root_unit(self.department) or {}
                row = self.row("organisation", root_id, {
                    "unit_id": root_id, "parent_unit_id": "", "unit_type": "department", "name_zh": name,
                    "name_en": known.get("name_en") or name})
                row.section = self.part_at(at).path
                row.quote_extra.append(self.verbatim(at, at + len(name)))
                return
        for k in units:  # the department is not printed by name: no tree to hang the units on
            del self.rows["organisation", k]
        for (r, _), row in self.rows.items():
            if r == "projects":
                row.meta["unit_id"] = ""

    def table_breaks(self, row: RowDraft, table: dict, sec: Section) -> None:
        """A table's 财政拨款 + 其他资金 must make its own total."""
        for total, parts in (("budget", ("budget_fiscal", "budget_other")),
                             ("executed", ("executed_fiscal", "executed_other"))):
            if total in table and all(p in table for p in parts):
                whole, a, b = (dec(table[c][0]) for c in (total, *parts))
                if a + b != whole:
                    self.breaks.append(Break("projects", row.key, parts[0], "fiscal_plus_other", table[parts[0]][0],
                                             fmt(whole - b), f"{sec.path}: 项目支出绩效目标完成情况表 {table['name']}: "
                                             f"{total} {table[total][0]} but 财政拨款 {table[parts[0]][0]} + "
                                             f"其他资金 {table[parts[1]][0]}"))

    # ---- the whole report

    def parse(self) -> None:
        for sec in sections(self.text):
            if sec.kind in LABELS:
                self.amounts(sec)
                self.changes(sec)
            if sec.kind == "gpb":
                self.functions(sec)
                self.gpb_completion(sec)
            if sec.kind == "three_public":
                self.counts(sec)
            if sec.kind == "performance":
                self.projects(sec)
            if sec.kind in ("other", "performance"):
                self.indicators(sec)
        work_counts(self)
        self.appendices()
        self.budget_completion()
        quantities(self)
        self.derive_year_end_carryover()
        self.one_fact_one_row()
        self.organisation_root()

    def appendices(self) -> None:
        """The reports of the 附件 part: a 部门整体支出绩效评价报告 restating the year's income and
        spending (二、部门财政资金收支情况: the labels of 一、收入支出决算总体情况说明), and a
        project's 绩效评价报告 restating its budget and payments."""
        for title, sec in appendix_reports(self.text):
            body = self.text[sec.start:sec.end]
            for m in re.finditer(rf"(?m)^[ \t\u3000]*[{CN_NO}]+、[^\n]*财政资金收支情况[^\n]*$", body):
                nxt = re.compile(rf"(?m)^[ \t\u3000]*[{CN_NO}]+、").search(body, m.end())
                self.amounts(Section("overall", f"{sec.path} > {squeeze(m.group())}", sec.start + m.start(),
                                     sec.start + (nxt.start() if nxt else len(body))))
            project = self.project_titled(title)
            if project is not None:
                self.project_appendix(project, sec)

    def project_titled(self, title: str) -> RowDraft | None:
        """The one project of the draft whose name shares a run of at least four characters with
        an appendix's title (电子政务云政府购买服务经费 / 2018年市电子政务云项目支出绩效评价报告)."""
        hits = [row for (r, _), row in self.rows.items()
                if r == "projects" and common_run(row.meta.get("name_zh", ""), title) >= 4]
        return hits[0] if len(hits) == 1 else None

    def project_appendix(self, row: RowDraft, sec: Section) -> None:
        """下达/追加/拨入 X万元 is the project's budget and 支付 X万元 its payment, where the project
        table printed the same value (else a person reads it)."""
        body = self.text[sec.start:sec.end]
        for column, words in (("budget", r"(?:下达|追加[^，。\d]{0,8}?经费|拨入[^，。\d]{0,8}?资金)"),
                              ("executed", r"支付[^，。\d]{0,16}?")):
            for m in re.finditer(rf"{words}\s*({NUM})\s*万元", body):
                self.repeat("projects", row.key, column, sec.start + m.start(1), sec.start + m.end(1), sec)

    def part_at(self, pos: int) -> Section:
        """The part (第四部分 附件 …) holding flat position `pos`, as a section for paths."""
        heads = [m for m in re.finditer(rf"(?m)^[ \t\u3000]*(第[{CN_NO}]+部分[^\n]*)$", self.text) if m.start() <= pos]
        title = squeeze(heads[-1].group(1)) if heads else ""
        start = heads[-1].start() if heads else 0
        return Section("", title, start, len(self.text))

    def budget_completion(self) -> None:
        """预算完成情况。…财政拨款支出X万元。完成预算Y%: the 部门整体支出绩效评价 appended to
        Sichuan reports states the completion of the whole appropriation."""
        pattern = (rf"(?:财政拨款收入\s*(?P<inc>{NUM})\s*万元\s*[，,]\s*)?"
                   rf"(?<!一般公共预算)财政拨款支出\s*(?P<num>{NUM})\s*万元\s*[。，,；;]?\s*"
                   rf"完成(?:全年)?预算的?\s*(?P<pct>{NUM})\s*{PCT}")
        for m in re.finditer(pattern, self.text):
            sec = self.part_at(m.start())
            row = self.item_row(EBT, "fiscal_total")
            self.put(row, "amount", m.group("num"), m.start("num"), m.end("num"), sec)
            self.put(row, "budget_completion_pct", m.group("pct"), m.start("pct"), m.end("pct"), sec)
            if m.group("inc"):
                self.repeat(INC, "fiscal_total", "amount", m.start("inc"), m.end("inc"), sec)

    def one_fact_one_row(self) -> None:
        """共有车辆N辆 (国有资产) is the 三公 公务用车 count when both print the same number: one
        fact, one row (the count)."""
        held, cars = self.rows.get(("indicators", "vehicles_held")), self.rows.get(
            ("three_public_expenses_counts", "vehicles"))
        if held and cars and dec(held.figures["value"][0].value) == dec(cars.figures["value"][0].value):
            cars.figures["value"] += held.figures["value"]  # printed twice: both are spans of the count
            del self.rows["indicators", "vehicles_held"]

    def derive_year_end_carryover(self) -> None:
        """Where a report's 支出总计 is less than its 收入总计 (it prints the spending of the year,
        not the balanced total), the difference is what is carried to next year."""
        inc, ebt = self.rows.get((INC, "total")), self.rows.get((EBT, "total"))
        if not inc or not ebt or "amount" not in inc.figures or "amount" not in ebt.figures:
            return
        a, b = dec(inc.figures["amount"][0].value), dec(ebt.figures["amount"][0].value)
        if a > b:
            row = self.item_row(EBT, "year_end_carryover")
            if not row.derived:  # named once: not printed, the difference of two printed totals
                row.meta["name_zh"] += "（推算）"
                row.meta["name_en"] += " (derived)"
            row.derived["amount"] = (fmt(a - b), "{income:total} - {expenditure_by_type:total}")
            row.section = inc.section
            both = (inc.figures["amount"][0], ebt.figures["amount"][0])
            row.quote_extra += [self.quote(p.start, p.end) for p in both]


def common_run(a: str, b: str) -> int:
    """Length of the longest run of characters two names share."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] not in b:
                break
            best = j - i
    return best


def appendix_reports(text: str) -> list[tuple[str, Section]]:
    """Each report of the 附件 part (附件1, 附件2 …): its title (the lines under 附件N up to the
    first numbered heading, joined) and its section."""
    found = parts_named(text, "附件")
    if not found:
        return []
    part, start, end = max(found, key=lambda f: f[2] - f[1])
    start = text.rfind("\n", 0, start) + 1  # a short 附件1 line is joined to the part's heading
    marks = list(re.finditer(r"(?m)(?:^|\s|附件)附件\s*(\d+)[ \t\u3000]*$", text[start:end]))
    out = []
    for i, m in enumerate(marks):
        s, e = start + m.start(), start + (marks[i + 1].start() if i + 1 < len(marks) else end - start)
        head = re.split(rf"(?m)^[ \t\u3000]*[{CN_NO}]+、", text[start + m.end():e], maxsplit=1)[0]
        title = "".join(head.split())
        out.append((title, Section("performance", f"{part} > 附件{m.group(1)} {title}", s, e)))
    return out


def strip_quotes(s: str) -> str:
    return re.sub(r"[“”\"'‘’\s]", "", s)


def clean_label(label: str) -> str:
    """The name a figure is printed under: no enumerator, 其中, year, 决算为."""
    s = strip_quotes(label)
    s = re.sub(rf"^[（(]?[{CN_NO}\d]+[)）.、．]", "", s)
    s = re.sub(r"^(?:其中|主要用于以下\d*个方面)", "", s)
    s = re.sub(r"^.*\d{4}年度?", "", s)  # 中共××部2024年度收入支出总计: the name before the year too
    s = re.sub(r"(?:决算数|决算)?为$", "", s)
    return re.sub(r"(?:决算数?|各)$", "", s)  # 收、支总计各X万元: each of the two totals


# ---------------------------------------------------------------- what the package already knows


class References:
    """The package's reference rows the parser names things by: the classification of each year,
    departments, organisation units and project ids already given (so a project keeps its id)."""

    def __init__(self, root: Path):
        self.root = root
        desc = read_descriptor(root)
        self.resources = {r["name"]: r for r in desc["resources"]}
        self.schemas = {name: read_schema(root, r) for name, r in self.resources.items()}
        self._rows: dict[str, list[dict]] = {}

    def rows(self, name: str) -> list[dict]:
        if name not in self._rows:
            r = self.resources.get(name)
            path = self.root / r["path"] if r else None
            self._rows[name] = list(csv.DictReader(path.open(encoding="utf-8"))) if path and path.is_file() else []
        return self._rows[name]

    def fields(self, name: str) -> list[str]:
        return [f["name"] for f in self.schemas[name]["fields"]]

    def classification(self, year: int) -> dict[str, dict]:
        return {r["code"]: r for r in self.rows("classification") if r["fiscal_year"] == str(year)}

    def code(self, year: int, names: list[str]) -> str | None:
        """The code of a 类 (one name) or of 类 > 款 > 项 (three names), matched level by level."""
        table = self.classification(year)

        def child(parent: str, name: str) -> str | None:
            want = norm_name(name)
            hits = [c for c, r in table.items() if r["parent_code"] == parent and norm_name(r["name_zh"]) == want]
            return hits[0] if len(hits) == 1 else None

        code = child("", names[0])
        for name in names[1:]:
            code = code and child(code, name)
        if code or len(names) != 3:
            return code
        # reports misname a 款 now and then (其他医疗卫生与计划生育管理事务 for 医疗卫生与计划生育管理事务):
        # a 项 name found once under the 类 still identifies the line
        lei = child("", names[0])
        hits = [c for c, r in table.items() if lei and r["parent_code"][:3] == lei and r["level"] == "3"
                and norm_name(r["name_zh"]) == norm_name(names[2])]
        return hits[0] if len(hits) == 1 else None

    def department(self, text: str) -> dict | None:
        """The known department whose Chinese name the report prints most often."""
        scored = [(text.count(d["name_zh"]), d) for d in self.rows("departments") if d.get("name_zh")]
        scored = [s for s in scored if s[0] > 0]
        return max(scored, key=lambda s: s[0])[1] if scored else None

    def department_named(self, name: str) -> dict | None:
        return next((d for d in self.rows("departments") if name in (d.get("name_zh"), d.get("short_name_zh"))), None)

    def department_row(self, department: str) -> dict | None:
        return next((d for d in self.rows("departments") if d["department"] == department), None)

    def project_id(self, department: str, name_zh: str) -> str | None:
        return next((r["project_id"] for r in self.rows("projects")
                     if r["department"] == department and r["name_zh"] == name_zh), None)

    def project_name_en(self, department: str, name_zh: str) -> str | None:
        return next((r["name_en"] for r in self.rows("projects")
                     if r["department"] == department and r["name_zh"] == name_zh), None)

    def units(self, department: str) -> list[dict]:
        """The department's organisation units, latest year first (ids are kept across years)."""
        rows = [r for r in self.rows("organisation") if r["department"] == department]
        return sorted(rows, key=lambda r: -int(r["fiscal_year"]))

    def unit(self, department: str, printed: str) -> dict | None:
        """The unit a project's 预算单位 names: exact, else the longest unit name the printed one
        ends with (市政府应急办 → 应急办)."""
        units = self.units(department)
        exact = [r for r in units if r["name_zh"] == printed]
        ends = sorted((r for r in units if r["name_zh"] and printed.endswith(r["name_zh"])),
                      key=lambda r: -len(r["name_zh"]))
        return (exact or ends or [None])[0]

    def root_unit(self, department: str) -> dict | None:
        return next((r for r in self.units(department) if not r["parent_unit_id"]), None)


UNIT_TYPES = (("党委", "party_committee"), ("中心", "public_institution"), ("研究所", "public_institution"),
              ("站", "public_institution"), ("院", "public_institution"), ("馆", "public_institution"),
              ("办公室", "administrative_body"), ("办", "administrative_body"), ("局", "administrative_body"),
              ("研究室", "administrative_body"), ("科", "section"))


def unit_type(name: str) -> str:
    """The kind of unit a name ends with; "" when the ending says nothing."""
    return next((kind for end, kind in UNIT_TYPES if name.endswith(end)), "")


def norm_name(name: str) -> str:
    s = re.sub(r"[\s（(](?:类|款|项)[）)]", "", name.strip())
    s = re.sub(r"^(?:\d+[.、．])", "", s).replace("(", "（").replace(")", "）")
    return re.sub(r"支出$", "", s.strip())


# ---------------------------------------------------------------- the draft


def parse_narrative(text: str, *, department: str | None = None, fiscal_year: int | None = None,
                    package: str | Path | None = None) -> Draft:
    """Draft rows of income, expenditure_by_type, expenditure_by_function, three_public_expenses,
    three_public_expenses_counts, projects and indicators (机关运行经费, 政府采购, assets,
    performance management) from a report in the narrative Sichuan outline.

    `text` is the archived text: every span points into it. `department`/`fiscal_year` default to
    what the report prints (a department the package knows by name keeps its id). `package`: the
    package whose schemas, classification and ids name things (default: this one). ValueError
    with one clear message when the text is not such a report, or names no year or department."""
    refs = References(Path(package) if package else package_dir())
    flat = flatten(text)[0]
    if explanation_part(flat) is None:
        raise ValueError("no 部门决算情况说明 part found (a heading like 第二部分 2018年度部门决算情况说明): "
                         "not a narrative 部门决算 report")
    year = fiscal_year or report_year(flat)
    dept_id, name_zh, region_zh = identify_department(flat, department, refs)
    source_id = f"{dept_id}-{year}-final-accounts"
    known = refs.department_row(dept_id) or {}
    parser = Parser(text, dept_id, year, source_id, refs, (name_zh, known.get("short_name_zh", "")))
    parser.parse()
    draft = Draft(text=text, department=dept_id, fiscal_year=year, source_id=source_id,
                  department_name_zh=name_zh, region_zh=region_zh)
    resolve(parser, draft)
    return draft


def report_year(text: str) -> int:
    m = re.search(r"(\d{4})\s*年度?(?:部门|单位)决算", text)
    if not m:
        raise ValueError("no fiscal year found (like 2018年度部门决算): give --fiscal-year")
    return int(m.group(1))


def identify_department(text: str, given: str | None, refs: References) -> tuple[str, str, str]:
    """(id, Chinese name, region): given; else the name the report prints before ××年度部门决算
    (the package's id when it knows that name, else an id made from it); else, for a report
    without such a title, the known department it names most often."""
    if given:
        row = refs.department_row(given)
        return given, (row or {}).get("name_zh", ""), (row or {}).get("region_zh", "")
    name = title_name(text)
    row = refs.department_named(name) if name else refs.department(text)
    if row:
        return row["department"], row["name_zh"], row.get("region_zh", "")
    if not name:
        raise ValueError("no department name found (like ××局2018年度部门决算): give --department")
    region = re.match(r"(?:中共)?(.+?(?:省|自治区|市|州|县|区))", name)
    return "dept-" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], name, region.group(1) if region else ""


# how the names of government bodies end (局, 办公室, 中心 …): 本部门在 before 2018年度部门决算 is none
ORG_SUFFIX = re.compile(r"(?:局|办公室|委员会|部|厅|院|中心|所|站|室|会|处|队|馆|校|团|社|委|办|府|行|公司|集团|署)$")


def title_name(text: str) -> str:
    """The organisation named before ××年度部门决算 most often (title, contents, headings)."""
    printed = (re.sub(rf"^(?:第[{CN_NO}]+部分|纳入)", "", m.group(1))
               for m in re.finditer(r"([^\s，。：:、\d]{2,40}?)\s*\d{4}\s*年度?(?:部门|单位)决算", text))
    names = Counter(n for n in printed if len(n) >= 2 and ORG_SUFFIX.search(n))
    return max(names, key=lambda n: (names[n], len(n))) if names else ""


def resolve(parser: Parser, draft: Draft) -> None:
    """Cells → CSV rows, spans and breaks: a cell printed with two values carries the first and
    is a break; then the identities the outline implies are checked."""
    carried: dict[tuple[str, str], dict[str, str]] = {}
    # a row without a figure (a project table of XX placeholders) is no row; a resource the
    # package has no schema for is left out
    parser.rows = {k: row for k, row in parser.rows.items()
                   if (row.figures or row.derived or row.quote_extra) and row.resource in parser.refs.schemas}
    for (resource, key), row in parser.rows.items():
        values = {}
        for column, printed in row.figures.items():
            values[column] = choose(parser, row, column, printed)
            draft.spans += [parser.span(resource, key, column, p) for p in printed]
        for column, (value, _) in row.derived.items():
            values.setdefault(column, value)
        carried[resource, key] = values
    identity_breaks(parser, carried)
    draft.breaks = parser.breaks
    for (resource, key), row in sorted(parser.rows.items()):
        draft.rows.setdefault(resource, []).append(csv_row(parser, row, carried[resource, key]))
    for resource in RESOURCES:
        if resource in parser.refs.schemas:
            draft.rows.setdefault(resource, [])


def choose(parser: Parser, row: RowDraft, column: str, printed: list[Printed]) -> str:
    first = printed[0]
    for other in printed[1:]:
        if dec(other.value) != dec(first.value):
            check = "text_table_mismatch" if row.resource == "projects" else "printed_twice"
            where = first.section.path
            if other.section is not first.section:
                where += f" / {other.section.path}"
            parser.breaks.append(Break(row.resource, row.key, column, check, first.value, other.value,
                                       f"{where}: 「{parser.quote(first.start, first.end)}」 vs "
                                       f"「{parser.quote(other.start, other.end)}」"))
    return first.value


def identity_breaks(parser: Parser, carried: dict) -> None:
    def get(resource, key, column):
        v = carried.get((resource, key), {}).get(column, "")
        return dec(v) if v else None

    def add(resource, key, column, check, value, other, what):
        section = parser.rows[resource, key].section
        parser.breaks.append(Break(resource, key, column, check, value, other, f"{section}: {what}"))

    for resource, parent, parts in COMPLETE_GROUPS:
        total, values = get(resource, parent, "amount"), [get(resource, p, "amount") for p in parts]
        if total is not None and None not in values and sum(values) != total:
            add(resource, parent, "amount", "sum_of_children", carried[resource, parent]["amount"], fmt(sum(values)),
                f"{parent} {fmt(total)} but {' + '.join(parts)} = {fmt(sum(values))}")
    for (resource, key), values in carried.items():
        meta = parser.rows[resource, key].meta
        amount = get(resource, key, "amount")
        share = values.get("share_pct")
        base = share_base(resource, meta, get)
        if share and amount is not None and base is not None and not rate_ok(amount, base, share):
            add(resource, key, "share_pct", "share", share, rate_text(amount, base),
                f"share {share}% printed, amount / base × 100 = {fmt(amount)} / {fmt(base)} × 100")
        change, pct = get(resource, key, "change_amount"), values.get("change_pct")
        if change is not None and pct and amount is not None and not rate_ok(change, amount - change, pct):
            add(resource, key, "change_pct", "change", pct, rate_text(change, amount - change),
                f"change {pct}% printed, change / (amount - change) × 100 = "
                f"{fmt(change)} / {fmt(amount - change)} × 100"
                + (": no rate of change from 0" if amount == change else ""))
        done = values.get("completion_pct")
        budget, executed = get(resource, key, "budget"), get(resource, key, "executed")
        if done and budget is not None and executed is not None and not rate_ok(executed, budget, done):
            add(resource, key, "completion_pct", "completion_rate", done, rate_text(executed, budget),
                f"completion {done}% printed, executed / budget × 100 = {fmt(executed)} / {fmt(budget)} × 100")
    lei = [k for (r, k) in carried if r == "expenditure_by_function" and len(k) == 3]
    gpb = get(EBT, "gpb_total", "amount")
    if lei and gpb is not None and all(get("expenditure_by_function", k, "amount") is not None for k in lei):
        s = sum(get("expenditure_by_function", k, "amount") for k in lei)
        if s != gpb:
            add(EBT, "gpb_total", "amount", "sum_of_children", fmt(gpb), fmt(s), f"the 类 add up to {fmt(s)}")
    carryover_chain(get, add, carried)
    fund_sources(get, add, carried)


def carryover_chain(get, add, carried: dict) -> None:
    """Where 支出总计 is the spending of the year (less than 收入总计), last year's totals follow
    from the printed changes, and their difference is what last year carried over: it must be
    this year's 年初结转和结余."""
    income, spent = get(INC, "total", "amount"), get(EBT, "total", "amount")
    income_up, spent_up = get(INC, "total", "change_amount"), get(EBT, "total", "change_amount")
    carryover = get(INC, "carryover", "amount")
    if None in (income, spent, income_up, spent_up, carryover) or not income > spent:
        return
    before = (income - income_up) - (spent - spent_up)
    if before != carryover:
        add(INC, "carryover", "amount", "carryover_chain", carried[INC, "carryover"]["amount"], fmt(before),
            f"last year's totals from the printed changes, ({fmt(income)} - {fmt(income_up)}) - ({fmt(spent)} - "
            f"{fmt(spent_up)}) = {fmt(before)}, would be carried over, not {fmt(carryover)}")


def fund_sources(get, add, carried: dict) -> None:
    """A project spending 其他资金 in a year whose income is all 一般公共预算财政拨款 (占100%)."""
    share = get(INC, "gpb", "share_pct")
    if share != 100:
        return
    for (resource, key), values in carried.items():
        for column in ("budget_other", "executed_other"):
            other = get(resource, key, column) if resource == "projects" else None
            if other:
                add(resource, key, column, "fund_source", values[column], "",
                    f"the project table prints 其他资金 {values[column]}万元, but the year's income is 100% "
                    f"一般公共预算财政拨款收入 (二、收入决算情况说明)")


def share_base(resource: str, meta: dict, get) -> Decimal | None:
    """What a printed share is a share of: the parent line (类: 一般公共预算财政拨款支出)."""
    if resource == "expenditure_by_function":
        return get(EBT, "gpb_total", "amount") if meta.get("level") == "1" else None
    parent = meta.get("parent_item_id")
    return get(resource, parent, "amount") if parent else None


def home_section(row: RowDraft) -> str:
    """The section printing most of the row's figures (the first such): 二、收入决算情况说明 for
    一般公共预算财政拨款收入, which 一、 names in passing."""
    counts: dict[str, int] = {}
    for printed in row.figures.values():
        for p in printed:
            counts[p.section.path] = counts.get(p.section.path, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else row.section


def csv_row(parser: Parser, row: RowDraft, values: dict[str, str]) -> dict[str, str]:
    schema = parser.refs.schemas[row.resource]
    quotes: list[str] = []
    for printed in row.figures.values():
        for p in printed:
            q = parser.quote(p.start, p.end)
            if q not in quotes:
                quotes.append(q)
    quotes += [q for q in row.quote_extra if q not in quotes]
    derived = bool(row.derived) and not row.figures
    fill = {"fiscal_year": str(parser.fiscal_year), "department": parser.department, "source_id": parser.source_id,
            "source_section": home_section(row), "source_quote": " … ".join(quotes),
            "derived": "true" if derived else "false",
            "derivation": "; ".join(rule for _, rule in row.derived.values()) if derived else ""}
    fill.update(row.meta)
    fill.update(values)
    return {f["name"]: str(fill.get(f["name"], "")) for f in schema["fields"]}



# ---- work-output counts of the 部门概况 part (第一部分): 处理请示报告1799件, 撰写材料160余篇58万多字

# a count unit: what a number before it counts; 万多字 is 58万多字 (more than 580,000 characters)
COUNT_UNIT = r"万人次|人次|批次|万(?P<q2>[余多])?字|件|次|篇|条|期|个|人|名|辆|家|项|场|份|户|处"
COUNT = re.compile(rf"(?<![\d.·第])(?P<n>\d+)(?P<q>[余多])?(?P<u>{COUNT_UNIT})(?P<more>以上)?"
                   rf"(?=[，,。；;、）)\n\d]|$)")  # 160余篇58万多字: a count may follow another
CLAUSE_END = "，,。；;：:！？\n“”"
LIST_MARKER = re.compile(rf"^(?:[{CN_NO}]+是|[{CN_NO}]+、|[（(][{CN_NO}]+[)）]|\d+[.、．])")


def unit_english(refs: "References") -> dict[str, str]:
    """English of a unit, where every indicator row the package holds in that unit agrees (名 is
    persons in one row and a rank in another: none)."""
    return agreed_english(refs.rows("indicators"), "unit_zh", "unit_en")


def agreed_english(rows: list[dict], zh: str, en: str) -> dict[str, str]:
    """Chinese -> English over the rows, for the Chinese every row gives the same English."""
    seen: dict[str, set[str]] = {}
    for r in rows:
        seen.setdefault(r[zh], set()).add(r[en])
    return {k: v.pop() for k, v in seen.items() if len(v) == 1 and k}


def overview_part(text: str) -> tuple[str, int, int] | None:
    """The 部门概况 part: (its heading, start, end); of several headings (a table of contents
    names it too) the longest part."""
    found = parts_named(text, "部门概况")
    return max(found, key=lambda f: f[2] - f[1]) if found else None


def overview_sections(text: str) -> list[Section]:
    """The numbered sections (一、基本职能及主要工作, 二、机构设置) of the 部门概况 part."""
    part = overview_part(text)
    if part is None:
        return []
    title, start, end = part
    heads = list(NUMBERED_HEAD.finditer(text[start:end]))
    return [Section("organisation" if "机构" in m.group(1) else "work_output", f"{title} > {squeeze(m.group(1))}",
                    start + m.start(), start + heads[i + 1].start() if i + 1 < len(heads) else end)
            for i, m in enumerate(heads)]


def count_clauses(body: str):
    """(name as printed, value, unit, qualifier, start, end of the number) of each count that
    closes its clause; a count followed by its noun (125个非涉密政务信息系统) names no object
    before it and is left for a person (precision first)."""
    previous_end = 0
    for m in COUNT.finditer(body):
        clause_start = max(previous_end, max(body.rfind(c, 0, m.start()) for c in CLAUSE_END) + 1)
        previous_end = m.end()
        name = LIST_MARKER.sub("", body[clause_start:m.start()].strip()).strip("、 ")
        if not re.search(r"[\u4e00-\u9fff]", name):
            continue
        unit = "万字" if m.group("u").startswith("万") and m.group("u").endswith("字") else m.group("u")
        qualifier = "more_than" if m.group("q") or m.group("q2") else "at_least" if m.group("more") else "exact"
        yield name, m.group("n"), unit, qualifier, m.start("n"), m.end("n")


def work_counts(self: Parser) -> None:
    """Each count of the 部门概况 part as an `indicators` draft row: the hand-made metric id (and
    category, English) where this source's hand-made row has the same value, unit and qualifier
    and a name one holds the other of; else `count_<section>_<n>`, its English to be added."""
    known = [r for r in self.refs.rows("indicators") if r.get("source_id") == self.source_id]
    unit_en = unit_english(self.refs)
    taken = {k for (res, k) in self.rows if res == "indicators"}  # given by another sentence: one fact, one row
    for s_no, sec in enumerate(overview_sections(self.text), 1):
        for n, (name, value, unit, qualifier, s, e) in enumerate(count_clauses(self.text[sec.start:sec.end]), 1):
            same = [r for r in known if (r["value"], r["unit_zh"], r["qualifier"]) == (value, unit, qualifier)
                    and (r["name_zh"] in name or name in r["name_zh"])]
            hand = same[0] if len(same) == 1 else hand_made(known, value, unit, qualifier, name)
            metric = hand.get("metric_id") or f"count_overview_{s_no}_{n}"
            if metric in taken:
                continue
            row = self.row("indicators", metric, {
                "metric_id": metric, "category": hand.get("category") or sec.kind, "name_zh": name,
                # English is required (the database's NOT NULL): a marked placeholder, as for departments
                "name_en": hand.get("name_en") or f"{name} (English name to be added)", "unit_zh": unit,
                "unit_en": hand.get("unit_en") or unit_en.get(unit) or f"{unit} (to be translated)",
                "qualifier": qualifier})
            self.put(row, "value", value, sec.start + s, sec.start + e, sec)



# ---- the other quantities the report states in prose: 125个非涉密政务信息系统 (the noun after the
# count), 同比降低13.9%, 第6名, 连续三年, 101.7亿元, 155M, 24小时, 自评得分93分

QUANTITY_UNIT = (r"万多字|万余字|万字|万人次|人次|批次|场（次）|小时|亿元|万元|[%％]|M(?![A-Za-z])|件|次|篇|条|期|个|人|名"
                 r"|辆|家|项|场|份|户|处|起|位|分|年(?!度|[0-9]|底|初|末|内|\d)")
# 位居全省前10: a place among the first N (the unit is the rank's, 名次, not printed)
TOP_N = re.compile(r"(?<=位居)(?P<place>[^，,。；\d]{0,6}?前)(?P<n>\d+)(?![\d.%％万亿个名位])")
QUANTITY = re.compile(rf"(?P<dir>降低|下降|减少|增长|提高|上升)?(?P<n>{NUM}|[{CN_NO}两]+)(?P<q>[余多])?"
                      rf"(?P<u>{QUANTITY_UNIT})(?P<more>以上)?")
CLAUSE = re.compile(r"[^，,。；;：:！？\n]+")
ALL_OF = re.compile(r"均(?:达|为|是)?$")  # 办件回复率、按时办结率均达100%: one figure of each rate


# units of money and rates: in the 预算绩效 section they are the projects' (预算数, 执行数, 完成预算的
# x%), read by the project patterns; one those miss stays for a person, never an indicator
PROJECT_UNITS = ("万元", "亿元", "%")


def prose_regions(self: Parser) -> list[tuple[Section, tuple[str, ...]]]:
    """Where quantities stand in sentences, with the units not to read there: the 部门概况 part,
    the 附件 reports, the paragraphs of the 预算绩效 section and the goals (预期目标, 实际完成目标)
    of its project tables, not their KPI grids (project_kpis) nor their other cells (tab-led
    lines)."""
    out: list[tuple[Section, tuple[str, ...]]] = [(sec, ()) for sec in overview_sections(self.text)]
    out += [(sec, ()) for _, sec in appendix_reports(self.text)]
    for sec in sections(self.text):
        if sec.kind != "performance":
            continue
        body = self.text[sec.start:sec.end]
        # a paragraph, or a table cell that is a sentence of its own (目前集中运行全市131个…系统。)
        for line in re.finditer(r"(?m)^(?:[^\t\n][^\n]*|\t[^\t\n]*[\u4e00-\u9fff][^\t\n]*。[ \t]*)$", body):
            out.append((Section("performance", sec.path, sec.start + line.start(), sec.start + line.end()),
                        PROJECT_UNITS))
        for m in re.finditer(r"实际完成目标", body):
            stop = body.find("绩效指标完成情况", m.end())
            out.append((Section("performance", sec.path, sec.start + m.end(),
                                sec.start + (stop if stop >= 0 else len(body))), PROJECT_UNITS))
    return out


def quantity_value(m: re.Match) -> str:
    n = m.group("n")
    if "place" in m.re.groupindex:
        return n
    value = str(chinese_value(n)) if n[0] in CN_NO + "两" else n.replace(",", "")
    return ("-" if m.group("dir") in NEGATIVE_WORDS else "") + value


def quantities(self: Parser) -> None:
    """Each number with its unit in the prose regions that no other reading located, as an
    `indicators` draft named by its clause as printed: the hand-made row of this source where
    exactly one has the same value, unit and qualifier and shares four characters of name with
    the clause (else `quantity_<n>`, its English to be added). Chinese numerals count (连续三年)
    only before a unit; years, dates and ordinals are the non-figures' business."""
    located = {p.start for row in self.rows.values() for ps in row.figures.values() for p in ps}
    known = [r for r in self.refs.rows("indicators") if r.get("source_id") == self.source_id]
    n = 0
    for sec, not_here in prose_regions(self):
        body = self.text[sec.start:sec.end]
        for clause in CLAUSE.finditer(body):
            found = [m for m in QUANTITY.finditer(clause.group())
                     if _a_quantity(m, clause.group()) and quantity_unit(m) not in not_here]
            found = sorted(found + list(TOP_N.finditer(clause.group())), key=lambda m: m.start("n"))
            for i, m in enumerate(found):
                start = sec.start + clause.start() + m.start("n")
                if start in located:
                    continue
                located.add(start)
                # its item: from the quantity before it to the one after (内设14个科室、4个行政机构)
                lo = found[i - 1].end() if i else 0
                hi = found[i + 1].start() if i + 1 < len(found) else len(clause.group())
                # the sign word stays in the name (全年发文数量同比降低): the value carries it
                for name in item_names(clause.group()[lo:m.start("n")], clause.group()[m.end():hi], clause.group()):
                    n += 1
                    add_quantity(self, sec, clause.group(), name, m, start, known, n)


def _a_quantity(m: re.Match, clause: str) -> bool:
    """Not a year (2018年), a date (12月), an ordinal (第3次), an enumerator (1.) or part of a
    longer number or name (image5, 5·12)."""
    before = clause[:m.start()]
    if re.search(r"[\d.·〔〕\[A-Za-z_]$", before) or clause[m.end("n"):m.end("n") + 1] == "·":
        return False
    if m.group("u") == "年" and (len(m.group("n")) == 4 or not re.search(r"(?:连续|以|由|为|期)$", before)):
        return False
    if m.group("n")[0] in CN_NO + "两" and m.group("u") in ("个", "次", "名", "位", "年") and \
            not re.search(r"(?:连续|每个月开展|每个季度开展|第)$", before):
        return False  # 四个意识, 一次性: wording; a Chinese numeral counts where the sentence says so
    if before.endswith("第") and m.group("u") not in ("名", "位"):
        return False  # 第108次: a meeting's number
    return True


def quantity_unit(m: re.Match) -> str:
    if "place" in m.re.groupindex:
        return "名次"
    u = m.group("u")
    return "万字" if u.startswith("万") and u.endswith("字") else "%" if u in "%％" else u


def quantity_qualifier(m: re.Match, before: str) -> str:
    if "place" in m.re.groupindex:
        return "exact"
    if m.group("q") or "多" in m.group("u") or "余" in m.group("u"):
        return "more_than"
    return "at_least" if m.group("more") or re.search(r"(?:不少于|至少)$", before) else "exact"


def item_names(before: str, after: str, clause: str) -> list[str]:
    """What a quantity counts, as printed around it, without the quantity: 内设 + 科室; the rates
    of 办件回复率、按时办结率均达 each; the clause where the item says too little (升级到1000M)."""
    before, after = before.strip("、 "), after.strip("、 ")
    before = re.sub(r"位居[^，,。；\d、和均]{0,4}前$", "", before)  # 均位居全省前10: the place is the quantity's
    if ALL_OF.search(before) and re.search("[、和]", before):
        return [part.strip() for part in re.split("[、和]", ALL_OF.sub("", before)) if part.strip()]
    item = (before + after).strip()
    return [item if len(item) >= 4 else clause.strip()]


def hand_made(known: list[dict], value: str, unit: str, qualifier: str, clause: str) -> dict:
    """The one hand-made row of this source stating this quantity of this clause, else {}."""
    same = [r for r in known if dec(r["value"]) == dec(value) and r["unit_zh"] == unit and r["qualifier"] == qualifier
            and common_run(re.sub(r"[（(][^）)]*[）)]", "", r["name_zh"]), clause) >= min(4, len(clause))]
    return same[0] if len(same) == 1 else {}


def add_quantity(self: Parser, sec: Section, clause: str, item: str, m: re.Match, start: int, known: list,
                 n: int) -> None:
    value, unit = quantity_value(m), quantity_unit(m)
    qualifier = quantity_qualifier(m, clause[:m.start()])
    name = item
    hand = hand_made(known, value, unit, qualifier, name)
    metric = hand.get("metric_id") or f"quantity_{n}"
    unit_en = unit_english(self.refs)
    row = self.row("indicators", metric, {
        "metric_id": metric, "category": hand.get("category") or sec.kind, "name_zh": name,
        "name_en": hand.get("name_en") or f"{name} (English name to be added)", "unit_zh": unit,
        "unit_en": hand.get("unit_en") or unit_en.get(unit) or f"{unit} (to be translated)", "qualifier": qualifier})
    self.put(row, "value", value, start, start + len(m.group("n")), sec)

