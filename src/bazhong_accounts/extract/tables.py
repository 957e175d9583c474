"""The table-first outline (Shanghai and most provinces): the standard tables 收入支出决算总表 …
财政拨款“三公”经费支出决算表, then the 情况说明 narrative. `parse_tables(text, …) -> Draft`.

Precision over recall: a figure is taken only where its row label and its column are certain
(a table cell whose number sits under exactly one column heading; a sentence of a known
pattern). Every figure keeps the offsets of its printed digits in the archived text. A figure
printed twice (table and narrative) is carried from the table; a difference becomes a Break,
as do the tables' own sums that do not add up.

Tables are read from the laid-out text (see readers): a row is one line; a number belongs to
the column heading whose centre is nearest to the number's centre (display columns, a Chinese
character being two wide); names wrapped over several lines are joined by the rule that a
vertically centred cell has as many lines above its code line as below it.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..checks.figure_sources import SIGN_WORDS
from .draft import Break, Draft, Span
from .items import ITEMS, Item

NUM = r"(-?\d+(?:\.\d+)?)"
CODE = re.compile(r"^\d{3}(?:\d{2}){0,2}$")
AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
SEGMENT = re.compile(r"\S+(?: \S+)*")  # cells are at least two spaces apart
SIGN_WORD = re.compile(rf"^(?:{'|'.join(SIGN_WORDS)}) *")  # before a signed figure, spaces of the layout after

TABLE_TITLES = {
    "summary": "收入支出决算总表",
    "income": "收入决算表",
    "expenditure": "支出决算表",
    "fiscal_summary": "财政拨款收入支出决算总表",
    "gpb_function": "一般公共预算财政拨款支出决算表",
    "gpb_basic": "一般公共预算财政拨款基本支出决算表",
    "three_public": "财政拨款“三公”经费支出决算表",
    "gov_fund": "政府性基金预算财政拨款收入支出决算表",
    "state_capital": "国有资本经营预算财政拨款收入支出决算表",
}
# heading cells that are never a fragment of a wrapped name (支出 can be: 一般公共服务 / 支出)
HEADER_WORDS = ("科目编码", "功能分类", "科目名称", "经济分类", "项目", "单位：万元", "决算数", "预算数", "合计")

# the column headings of the tables by 科目编码 -> the columns of their resource; the first ones
# must be printed for the table to be read
GPB_HEADS = {"合计": "amount", "基本支出": "basic_amount", "项目支出": "project_amount"}
ALL_FUNDS_HEADS = {"本年支出合计": "amount", "基本支出": "basic_amount", "项目支出": "project_amount",
                   "上缴上级支出": "remitted_amount", "经营支出": "operating_amount",
                   "对附属单位补助支出": "subordinate_subsidy_amount"}
INCOME_HEADS = {"本年收入合计": "amount", "财政拨款收入": "fiscal_amount", "上级补助收入": "superior_subsidy_amount",
                "事业收入": "business_amount", "经营收入": "operating_amount",
                "附属单位上缴收入": "subordinate_amount", "其他收入": "other_amount"}
ALL_FUNDS, INCOME_BY_FUNCTION = "expenditure_by_function_all_funds", "income_by_function"

# labels as the summary tables print them -> item ids of extract/items.py
INCOME_LABELS = {
    "一般公共预算财政拨款收入": "gpb", "政府性基金预算财政拨款收入": "gov_fund",
    "国有资本经营预算财政拨款收入": "state_capital", "上级补助收入": "superior_subsidy", "事业收入": "business",
    "经营收入": "operating", "附属单位上缴收入": "subordinate", "其他收入": "other",
    "本年收入合计": "current_year_total", "使用非财政拨款结余": "non_fiscal_balance_used",
    "年初结转和结余": "carryover", "总计": "total",
}
EXPENDITURE_LABELS = {"本年支出合计": "current_year_total", "年末结转和结余": "year_end_carryover", "总计": "total"}
# the columns of the 三公 table, left to right (each with 预算数 and 决算数), as the table heads them
THREE_PUBLIC = [("total", "财政拨款“三公”经费"), ("overseas", "因公出国（境）费"),
                ("vehicles", "公务用车购置及运行维护费"), ("vehicle_purchase", "公务用车购置费"),
                ("vehicle_operation", "公务用车运行维护费"), ("reception", "公务接待费")]
# English of the 类 of the function classification, and of common 款/项 names
NAMES_EN = {
    "一般公共服务支出": "General public services", "外交支出": "Foreign affairs", "国防支出": "National defence",
    "公共安全支出": "Public security", "教育支出": "Education", "科学技术支出": "Science and technology",
    "文化旅游体育与传媒支出": "Culture, tourism, sports and media",
    "社会保障和就业支出": "Social security and employment",
    "卫生健康支出": "Health", "节能环保支出": "Energy conservation and environmental protection",
    "城乡社区支出": "Urban and rural communities", "农林水支出": "Agriculture, forestry and water",
    "交通运输支出": "Transport", "资源勘探工业信息等支出": "Resource exploration, industry and information",
    "商业服务业等支出": "Commerce and services", "金融支出": "Finance",
    "援助其他地区支出": "Aid to other regions", "自然资源海洋气象等支出": "Natural resources, ocean and meteorology",
    "住房保障支出": "Housing security", "粮油物资储备支出": "Grain, oil and material reserves",
    "灾害防治及应急管理支出": "Disaster prevention and emergency management", "其他支出": "Other expenditure",
    "行政运行": "Administrative operation", "一般行政管理事务": "General administrative affairs",
    "机关服务": "Agency services", "事业运行": "Operation of public institutions",
    "社会工作事务": "Social work affairs", "其他社会工作事务支出": "Other social work affairs",
    "行政事业单位养老支出": "Pensions of administrative and public-institution staff",
    "机关事业单位基本养老保险缴费支出":
        "Basic pension insurance contributions of government agencies and public institutions",
    "机关事业单位职业年金缴费支出": "Occupational annuity contributions of government agencies and public institutions",
    "行政事业单位医疗": "Medical care of administrative and public-institution staff",
    "行政单位医疗": "Medical care of administrative units", "事业单位医疗": "Medical care of public institutions",
    "公务员医疗补助": "Civil servants' medical subsidy", "住房改革支出": "Housing reform",
    "住房公积金": "Housing provident fund", "购房补贴": "Housing purchase subsidy", "提租补贴": "Rent subsidy",
}

ECONOMIC_EN = {
    "工资福利支出": "Wages and benefits", "基本工资": "Basic salaries", "津贴补贴": "Allowances and subsidies",
    "奖金": "Bonuses", "伙食补助费": "Meal subsidies", "绩效工资": "Performance pay",
    "机关事业单位基本养老保险缴费": "Basic pension insurance contributions",
    "职业年金缴费": "Occupational annuity contributions",
    "职工基本医疗保险缴费": "Basic medical insurance contributions",
    "公务员医疗补助缴费": "Civil servants' medical subsidy contributions",
    "其他社会保障缴费": "Other social security contributions", "住房公积金": "Housing provident fund",
    "医疗费": "Medical expenses", "其他工资福利支出": "Other wages and benefits",
    "商品和服务支出": "Goods and services", "办公费": "Office expenses", "印刷费": "Printing", "咨询费": "Consulting",
    "手续费": "Fees",
    "水费": "Water",
    "电费": "Electricity",
    "邮电费": "Post and telecommunications",
    "取暖费": "Heating",
    "物业管理费": "Property management", "差旅费": "Travel", "因公出国（境）费用": "Official overseas travel",
    "维修（护）费": "Repairs and maintenance", "租赁费": "Rent", "会议费": "Meetings", "培训费": "Training",
    "公务接待费": "Official reception", "专用材料费": "Special materials", "被装购置费": "Uniforms",
    "专用燃料费": "Special fuel", "劳务费": "Labour services", "委托业务费": "Commissioned services",
    "工会经费": "Trade union funds",
    "福利费": "Welfare",
    "公务用车运行维护费": "Official vehicle operation and maintenance",
    "其他交通费用": "Other transport",
    "税金及附加费用": "Taxes and surcharges",
    "其他商品和服务支出": "Other goods and services",
    "对个人和家庭的补助": "Subsidies to individuals and households",
    "离休费": "Retirement pay (离休)",
    "退休费": "Retirement pay",
    "退职（役）费": "Severance", "抚恤金": "Survivor benefits", "生活补助": "Living allowances", "救济费": "Relief",
    "医疗费补助": "Medical subsidies", "助学金": "Student grants", "奖励金": "Rewards",
    "个人农业生产补贴": "Agricultural production subsidies to individuals",
    "代缴社会保险费": "Social insurance paid on behalf",
    "其他对个人和家庭的补助": "Other subsidies to individuals and households", "资本性支出": "Capital expenditure",
    "房屋建筑物购建": "Buildings", "办公设备购置": "Office equipment", "专用设备购置": "Special equipment",
    "信息网络及软件购置更新": "Information networks and software", "公务用车购置": "Official vehicle purchase",
    "其他交通工具购置": "Other means of transport", "文物和陈列品购置": "Cultural relics and exhibits",
    "无形资产购置": "Intangible assets", "其他资本性支出": "Other capital expenditure",
}


# ---------------------------------------------------------------- text helpers


@dataclass
class Tok:
    start: int  # offset in the archived text
    end: int
    printed: str
    col: float = 0.0  # display-column centre (tables)

    @property
    def value(self) -> str:
        return self.printed.replace(",", "")


@dataclass
class Line:
    start: int
    text: str

    @property
    def bare(self) -> str:
        return re.sub(r"\s", "", self.text)

    def segments(self) -> list[Tok]:
        """Cells of the line: runs of text at least two spaces apart, with display centres."""
        out = []
        for m in SEGMENT.finditer(self.text):
            left = display_width(self.text[: m.start()])
            out.append(Tok(self.start + m.start(), self.start + m.end(), m.group(),
                           left + display_width(m.group()) / 2))
        return out


def display_width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def split_lines(text: str) -> list[Line]:
    out, pos = [], 0
    for raw in text.split("\n"):
        clean = raw.replace("\f", " ")
        out.append(Line(pos, clean))
        pos += len(raw) + 1
    return out


class Flat:
    """The text without whitespace (a sentence wraps anywhere in a PDF), mapped back to offsets."""

    def __init__(self, text: str, start: int = 0, end: int | None = None):
        end = len(text) if end is None else end
        keep = [i for i in range(start, end) if not text[i].isspace()]
        self.offsets = keep
        self.text = "".join(text[i] for i in keep)
        self.source = text

    def tok(self, m: re.Match, group: int) -> Tok:
        a, b = m.start(group), m.end(group)
        start, end = self.offsets[a], self.offsets[b - 1] + 1
        return Tok(start, end, self.source[start:end])


def dec(s: str) -> Decimal | None:
    try:
        return Decimal(s.replace(",", ""))
    except InvalidOperation:
        return None


def quote_line(text: str, tok: Tok) -> str:
    """The printed line holding a figure, stripped: the verbatim excerpt a row quotes."""
    a = text.rfind("\n", 0, tok.start) + 1
    b = text.find("\n", tok.end)
    return text[a: len(text) if b < 0 else b].replace("\f", "").strip()


# ---------------------------------------------------------------- the draft being built


@dataclass
class RowDraft:
    resource: str
    key: str
    fields: dict[str, str]
    section: str
    quotes: list[str] = field(default_factory=list)
    derivation: str = ""  # the rule of a row the report does not print (then it has no span)


class Builder:
    """Rows by (resource, key); each figure set once, with its span; a second, different printing
    of it is a Break."""

    def __init__(self, text: str):
        self.text = text
        self.rows: dict[tuple[str, str], RowDraft] = {}
        self.spans: list[Span] = []
        self.breaks: list[Break] = []
        self.where: dict[tuple[str, str, str], str] = {}

    def row(self, resource: str, key: str, section: str, **fields: str) -> RowDraft:
        r = self.rows.get((resource, key))
        if r is None:
            r = self.rows[(resource, key)] = RowDraft(resource, key, dict(fields), section)
        else:
            for k, v in fields.items():
                r.fields.setdefault(k, v)
        return r

    def item(self, resource: str, item_id: str, section: str, name_zh: str = "") -> RowDraft:
        """The row of a summary item: parent, breakdown and English from extract/items.py; the
        Chinese name as printed when the outline read one, else the standard name."""
        spec = ITEMS[resource][item_id]
        return self.row(resource, item_id, section, item_id=item_id, parent_item_id=spec.parent,
                        breakdown=spec.breakdown, name_zh=name_zh or spec.name_zh, name_en=spec.name_en)

    def figure(self, r: RowDraft, column: str, tok: Tok, where: str, value: str | None = None) -> None:
        if any(ch.isspace() for ch in SIGN_WORD.sub("", tok.printed)):
            return  # a number broken over two lines: no one-line quote holds it, so it is left out
        value = tok.value if value is None else value
        have = r.fields.get(column)
        if have not in (None, ""):
            if dec(have) != dec(value):
                self.breaks.append(Break(r.resource, r.key, column, "text_table_mismatch", have, value,
                                         f"{self.where[(r.resource, r.key, column)]} vs {where}"))
            # the figure printed again, another located occurrence; one that states another value
            # stays a problem of validate until an erratum of the cell gives that value (as the
            # narrative outline does)
            self.spans.append(Span(r.resource, r.key, column, tok.start, tok.end, tok.printed))
            return
        r.fields[column] = value
        self.where[(r.resource, r.key, column)] = where
        self.spans.append(Span(r.resource, r.key, column, tok.start, tok.end, tok.printed))
        q = quote_line(self.text, tok)
        if q not in r.quotes:
            r.quotes.append(q)

    def check(self, r: RowDraft | None, column: str, tok: Tok, where: str) -> None:
        """A second printing of a figure the draft already carries (or a first one if not)."""
        if r is not None:
            self.figure(r, column, tok, where)

    def broke(self, resource: str, key: str, column: str, check: str, carried, other, where: str) -> None:
        self.breaks.append(Break(resource, key, column, check, str(carried), str(other), where))


# ---------------------------------------------------------------- outline


def has_table_outline(text: str) -> bool:
    """The standard tables printed (their titles alone on a line, at least two of them), not
    only listed by title as the Sichuan outline's 附表 section does (一、收入支出决算总表 …)."""
    return "部门决算" in re.sub(r"\s", "", text) and len(find_tables(split_lines(text))) >= 2


def find_tables(lines: list[Line]) -> dict[str, tuple[int, int]]:
    """Table kind -> (first line, line after the last) of its body: from the title line (the
    title alone on its line, not the contents entry "一、…") to its note (注：) or the next title."""
    titles = {v: k for k, v in TABLE_TITLES.items()}
    starts = []
    for i, ln in enumerate(lines):
        bare = ln.bare
        # the title alone, or after the department's name and year (Word/HTML headings)
        kind = titles.get(bare) or next((k for t, k in titles.items() if bare.endswith("年度" + t)), None)
        if kind and not re.match(r"^[一二三四五六七八九十]+、", bare):
            starts.append((i, kind))
    out: dict[str, tuple[int, int]] = {}
    open_kind = None  # a table whose region ended at a title, not at its note: it may go on
    for n, (i, kind) in enumerate(starts):
        stop = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        ended = False
        for j in range(i + 1, stop):
            if lines[j].bare.startswith(("注：", "说明：")) or re.match(r"^第[一二三四五]部分", lines[j].bare):
                stop, ended = j, True
                break
        if kind == open_kind and kind in out:  # the title repeated on the next page: one table
            out[kind] = (out[kind][0], stop)
        else:
            out.setdefault(kind, (i + 1, stop))
        open_kind = None if ended else kind
    return out


def narrative_start(lines: list[Line], tables: dict) -> int:
    """Offset where the 情况说明 begins: the part heading after the last table."""
    after = max((b for _, b in tables.values()), default=0)
    for ln in lines[after:]:
        if re.match(r"^第[一二三四五]部分.*(决算情况|情况说明)", ln.bare):
            return ln.start
    return lines[after].start if after < len(lines) else lines[-1].start + len(lines[-1].text)


# ---------------------------------------------------------------- the parser


def parse_tables(text: str, *, department: str, fiscal_year: int, source_id: str) -> Draft:
    b = Builder(text)
    lines = split_lines(text)
    tables = find_tables(lines)
    title = {k: TABLE_TITLES[k] for k in tables}
    part2 = "第二部分 部门决算表"
    if "summary" in tables:
        _summary(b, lines, *tables["summary"], f"{part2} > {title['summary']}")
    if "expenditure" in tables:
        _expenditure(b, lines, *tables["expenditure"], f"{part2} > {title['expenditure']}")
    if "fiscal_summary" in tables:
        _fiscal_summary(b, lines, *tables["fiscal_summary"], f"{part2} > {title['fiscal_summary']}")
    codes: dict[str, RowDraft] = {}
    if "gpb_function" in tables:
        codes = _gpb_function(b, lines, *tables["gpb_function"], f"{part2} > {title['gpb_function']}")
    if "gpb_basic" in tables:
        _gpb_basic(b, lines, *tables["gpb_basic"], f"{part2} > {title['gpb_basic']}")
        _economic(b, lines, *tables["gpb_basic"], f"{part2} > {title['gpb_basic']}")
    if "income" in tables:
        _income(b, lines, *tables["income"], f"{part2} > {title['income']}")
    if "three_public" in tables:
        _three_public(b, lines, *tables["three_public"], f"{part2} > {title['three_public']}")
    if "summary" in tables:
        _summary_classes(b, lines, *tables["summary"], f"{part2} > {title['summary']}")
    if "fiscal_summary" in tables:
        _fiscal_summary_classes(b, lines, *tables["fiscal_summary"], f"{part2} > {title['fiscal_summary']}")
    _narrative(b, text, narrative_start(lines, tables), codes)
    _non_fiscal(b)
    _sums(b, codes, GPB_HEADS)
    _sums(b, _rows_of(b, ALL_FUNDS), ALL_FUNDS_HEADS)
    _sums(b, _rows_of(b, INCOME_BY_FUNCTION), INCOME_HEADS)
    _economic_sums(b)
    return _draft(b, text, department, fiscal_year, source_id)


def _numbers(line: Line) -> tuple[list[Tok], list[Tok]]:
    """(label cells, number cells) of a table line."""
    labels: list[Tok] = []
    nums: list[Tok] = []
    for s in line.segments():
        (nums if AMOUNT.match(s.printed) else labels).append(s)
    return labels, nums


def _label_numbers(line: Line) -> list[tuple[Tok, list[Tok]]]:
    """Each label cell with the numbers that follow it on the line (two-sided tables: income
    label, its figure, expenditure label, its figures)."""
    out: list[tuple[Tok, list[Tok]]] = []
    for s in line.segments():
        if AMOUNT.match(s.printed):
            if out:
                out[-1][1].append(s)
        else:
            out.append((s, []))
    return out


def _side_items(lines, start, stop):
    """Rows of a two-sided table as (side, bare label, numbers): side 0 left, 1 right, by the
    order of labels on the line."""
    for ln in lines[start:stop]:
        for side, (label, nums) in enumerate(_label_numbers(ln)):
            bare = re.sub(r"\s", "", label.printed)
            bare = re.sub(r"^[一二三四五六七八九十]+、", "", bare)
            yield side, bare, nums, label


def _summary(b: Builder, lines, start, stop, section):
    for side, bare, nums, _label in _side_items(lines, start, stop):
        if len(nums) != 1:
            continue
        if side == 0 and bare in INCOME_LABELS:
            b.figure(b.item("income", INCOME_LABELS[bare], section, bare), "amount", nums[0], section)
        elif bare in EXPENDITURE_LABELS and (side == 1 or bare != "总计"):
            b.figure(b.item("expenditure_by_type", EXPENDITURE_LABELS[bare], section, bare), "amount", nums[0],
                     section)


def _columns(lines, start, stop, names: list[str], optional: tuple[str, ...] = ()) -> dict[str, float] | None:
    """Display centres of column headings (the first line of the table naming each); None when
    one of `names` is not printed. `optional` headings are placed where printed too, so that a
    number under one of them is never taken for its neighbour's; a heading wrapped over two
    lines (附属单位 / 上缴收入) is found by its first line."""
    cols: dict[str, float] = {}
    for ln in lines[start:stop]:
        for s in ln.segments():
            bare = re.sub(r"\s", "", s.printed)
            for n in (*names, *optional):
                if n not in cols and (bare == n or (n in optional and len(bare) >= 4 and n.startswith(bare))):
                    cols[n] = s.col
    return cols if all(n in cols for n in names) else None


def _assign(nums: list[Tok], cols: dict[str, float], tolerance: float = 8) -> dict[str, Tok] | None:
    """Each number to the nearest column heading; None when any is far from all headings or two
    share one (then the row is not certain and is left out)."""
    out: dict[str, Tok] = {}
    for t in nums:
        name, dist = min(((n, abs(c - t.col)) for n, c in cols.items()), key=lambda x: x[1])
        if dist > tolerance or name in out:
            return None
        out[name] = t
    return out


def _expenditure(b: Builder, lines, start, stop, section):
    """支出决算表: the 合计 line gives 本年支出合计, 基本支出 and 项目支出 (all funds)."""
    _code_table(b, lines, start, stop, section, ALL_FUNDS, ALL_FUNDS_HEADS, 3)
    cols = _columns(lines, start, stop, ["本年支出合计", "基本支出", "项目支出"])
    if cols is None:
        return
    for ln in lines[start:stop]:
        labels, nums = _numbers(ln)
        if len(labels) == 1 and labels[0].printed.replace(" ", "") == "合计" and nums:
            got = _assign(nums, cols)
            if got is None:
                return
            for head, item in (("本年支出合计", "current_year_total"), ("基本支出", "basic"), ("项目支出", "project")):
                if head in got:
                    b.figure(b.item("expenditure_by_type", item, section, head), "amount", got[head], section)
            return


# the expenditure columns of the 财政拨款收入支出决算总表 by the first line of their wrapped
# headings (一般公共预 / 算财政拨款): 合计 and 一般公共预算 must be printed, the other two are
# placed where printed, so that a number under them is never taken for 一般公共预算's
FISCAL_HEADS = {"合计": "合计", "gpb": "一般公共预", "gov_fund": "政府性基", "state_capital": "国有资本"}


def _fiscal_heads(lines, start, stop) -> dict[str, float]:
    """Display centres of the expenditure columns of the 财政拨款收入支出决算总表; {} when 合计 or
    一般公共预算财政拨款 is not printed."""
    heads: dict[str, float] = {}
    for ln in lines[start:stop]:
        for s in ln.segments():
            bare = s.printed.replace(" ", "")
            for head, printed in FISCAL_HEADS.items():
                if head not in heads and (bare == printed if head == "合计" else bare.startswith(printed)):
                    heads[head] = s.col
    return heads if "合计" in heads and "gpb" in heads else {}


# 财政拨款收入支出决算总表: income labels (the left side) -> income item ids; expenditure rows (the
# right side) -> item ids under 合计 and under 一般公共预算财政拨款
FISCAL_INCOME = {"一般公共预算财政拨款": "gpb", "政府性基金预算财政拨款": "gov_fund",
                 "国有资本经营预算财政拨款": "state_capital", "本年收入合计": "fiscal", "总计": "fiscal_total"}
FISCAL_EXPENDITURE = {"本年支出合计": {"合计": "fiscal_current_year_total", "gpb": "gpb_total",
                                   "gov_fund": "gov_fund_total", "state_capital": "state_capital_total"},
                      "总计": {"合计": "fiscal_total", "gpb": "gpb_grand_total"}}


def _fiscal_summary(b: Builder, lines, start, stop, section):
    """财政拨款收入支出决算总表: the income side's appropriation kinds, 本年收入合计 (财政拨款收入)
    and 总计; the expenditure side's 本年支出合计 and 总计 under 合计 and under 一般公共预算财政拨款."""
    heads = _fiscal_heads(lines, start, stop)
    seen_income = set()
    for side, bare, nums, _label in _side_items(lines, start, stop):
        if side == 0 and bare in FISCAL_INCOME and bare not in seen_income:
            seen_income.add(bare)  # 一、一般公共预算财政拨款 again under 年初结转和结余: not this one
            if len(nums) == 1:
                b.figure(b.item("income", FISCAL_INCOME[bare], section), "amount", nums[0], section)
        elif bare in FISCAL_EXPENDITURE and side == 1 and heads:
            got = _assign(nums, heads) or {}
            for head, item in FISCAL_EXPENDITURE[bare].items():
                if head in got:
                    b.figure(b.item("expenditure_by_type", item, section), "amount", got[head], section)


def _is_name_only(ln: Line) -> bool:
    segs = ln.segments()
    if len(segs) != 1:
        return False
    bare = segs[0].printed.replace(" ", "")
    return bool(re.search(r"[\u4e00-\u9fff]", bare)) and not AMOUNT.match(bare) and bare not in HEADER_WORDS \
        and not bare.startswith(("注", "单位"))


def _gpb_function(b: Builder, lines, start, stop, section) -> dict[str, RowDraft]:
    """一般公共预算财政拨款支出决算表: 类/款/项 by 科目编码 with 合计, 基本支出, 项目支出; its 合计
    line is 一般公共预算财政拨款支出 with its basic and project parts."""
    out = _code_table(b, lines, start, stop, section, "expenditure_by_function", GPB_HEADS, 3)
    cols = _columns(lines, start, stop, list(GPB_HEADS))
    if cols is None:
        return out
    for ln in lines[start:stop]:
        labels, nums = _numbers(ln)
        if len(labels) == 1 and labels[0].printed.replace(" ", "") == "合计":
            got = _assign(nums, cols) or {}
            for head, item in (("合计", "gpb_total"), ("基本支出", "gpb_basic"), ("项目支出", "gpb_project")):
                if head in got:
                    b.figure(b.item("expenditure_by_type", item, section), "amount", got[head], section)
    return out


def _code_table(b: Builder, lines, start, stop, section, resource: str, heads: dict[str, str],
                required: int) -> dict[str, RowDraft]:
    """A table of 类/款/项 lines by 科目编码: each line's numbers under the column headings `heads`
    (heading -> column of `resource`, the first `required` of them printed), its name as printed
    (wrapped names joined). A line whose numbers do not sit under one heading each is left out."""
    names_needed = list(heads)[:required]
    cols = _columns(lines, start, stop, names_needed, tuple(list(heads)[required:]))
    rows: list[tuple[int, str, Tok | None, dict[str, Tok]]] = []
    if cols is None:
        return {}
    for i in range(start, stop):
        segs = lines[i].segments()
        if not segs or not CODE.match(segs[0].printed):
            continue
        rest = segs[1:]
        name = rest[0] if rest and not AMOUNT.match(rest[0].printed) else None
        nums = [s for s in rest if AMOUNT.match(s.printed)]
        got = _assign(nums, cols) if nums else None
        if got is None or len(rest) != len(nums) + (name is not None):
            continue
        rows.append((i, segs[0].printed, name, got))
    names = _wrapped_names(lines, start, stop, rows)
    out: dict[str, RowDraft] = {}
    for (_, code, _, got), name in zip(rows, names, strict=True):
        if name is None:
            continue
        level = {3: 1, 5: 2, 7: 3}[len(code)]
        parent = "" if level == 1 else code[: 3 if level == 2 else 5]
        r = b.row(resource, code, section, code=code, level=str(level), parent_code=parent,
                  name_zh=name, name_en=NAMES_EN.get(name, ""))
        for head, column in heads.items():
            if head in got:
                b.figure(r, column, got[head], section)
        out[code] = r
    return out


def _rows_of(b: Builder, resource: str) -> dict[str, RowDraft]:
    return {key: r for (res, key), r in b.rows.items() if res == resource}


def _class_by_name(b: Builder, resource: str, printed: str) -> RowDraft | None:
    """The 类 line of `resource` a summary table names (一、一般公共服务支出 -> 201)."""
    found = [r for r in _rows_of(b, resource).values() if r.fields.get("level") == "1"
             and r.fields.get("name_zh") == printed]
    return found[0] if len(found) == 1 else None


def _summary_classes(b: Builder, lines, start, stop, section):
    """收入支出决算总表, expenditure side: each 类 with its 决算数, the 本年支出合计 of that 类 (all
    funds), which the 支出决算表 prints again: located as the same figure, a difference a Break.
    Where the 支出决算表 gives no line of that 类, its code is the 一般公共预算 table's 类 of the
    same name (one classification)."""
    for _side, bare, nums, _label in _side_items(lines, start, stop):
        if len(nums) != 1:
            continue
        r = _class_by_name(b, ALL_FUNDS, bare)
        gpb = _class_by_name(b, "expenditure_by_function", bare)
        if r is None and gpb is not None:
            r = b.row(ALL_FUNDS, gpb.key, section, code=gpb.key, level="1", parent_code="", name_zh=bare,
                      name_en=NAMES_EN.get(bare, ""))
        if r is not None:
            b.figure(r, "amount", nums[0], section)


def _fiscal_summary_classes(b: Builder, lines, start, stop, section):
    """财政拨款收入支出决算总表, expenditure side: each 类 under 合计 (the three appropriations)
    and under 一般公共预算财政拨款 (the 类 line of the 一般公共预算财政拨款支出决算表, printed again)."""
    heads = _fiscal_heads(lines, start, stop)
    for _side, bare, nums, _label in _side_items(lines, start, stop):
        gpb = _class_by_name(b, "expenditure_by_function", bare)
        if gpb is None or not heads:
            continue
        got = _assign(nums, heads) or {}
        if "gpb" in got:
            b.figure(gpb, "amount", got["gpb"], section)
        all_funds = b.rows.get((ALL_FUNDS, gpb.key))
        if "合计" in got and all_funds is not None:
            b.figure(all_funds, "fiscal_amount", got["合计"], section)


def _wrapped_names(lines, start, stop, rows) -> list[str | None]:
    """Full names of code rows. Name-only lines between two code lines are split so that each
    row has as many name lines above its code line as below (cells are centred vertically); a
    blank line or a heading ends a run. None when the split does not come out even."""
    idx = [i for i, *_ in rows]
    names: list[str | None] = []
    above = 0
    for n, (i, _, name, _) in enumerate(rows):
        # the run of name-only lines above this row (after the previous row's share)
        run_up: list[Line] = []
        j = i - 1
        while j >= start and (n == 0 or j > idx[n - 1]) and _is_name_only(lines[j]):
            run_up.insert(0, lines[j])
            j -= 1
        if n == 0 or j > idx[n - 1]:  # bounded by a blank or heading line: all above are ours
            above = len(run_up)
        mine_up = run_up[len(run_up) - above:] if above else []
        if above > len(run_up):
            names.append(None)
            above = 0
            continue
        run_down = []
        j = i + 1
        nxt = idx[n + 1] if n + 1 < len(rows) else stop
        while j < nxt and _is_name_only(lines[j]):
            run_down.append(lines[j])
            j += 1
        mine_down = run_down[:above] if len(run_down) >= above else None
        if mine_down is None:
            names.append(None)
            above = 0
            continue
        parts = [ln.bare for ln in mine_up] + ([name.printed.replace(" ", "")] if name else []) + \
                [ln.bare for ln in mine_down]
        names.append("".join(parts) or None)
        # the next row's lines above: what is left of this run, if the run reaches it
        left = len(run_down) - above
        above = left if j == nxt else 0
    return names


def _income(b: Builder, lines, start, stop, section):
    """收入决算表: the 合计 line's 本年收入合计 and 财政拨款收入."""
    _code_table(b, lines, start, stop, section, INCOME_BY_FUNCTION, INCOME_HEADS, 2)
    cols = _columns(lines, start, stop, ["本年收入合计", "财政拨款收入"])
    if cols is None:
        return
    for ln in lines[start:stop]:
        labels, nums = _numbers(ln)
        if len(labels) == 1 and labels[0].printed.replace(" ", "") == "合计" and nums:
            got = _assign(nums, cols)
            if got and "财政拨款收入" in got:
                b.figure(b.item("income", "fiscal", section), "amount", got["财政拨款收入"], section)
            if got and "本年收入合计" in got:
                b.figure(b.item("income", "current_year_total", section, "本年收入合计"), "amount",
                         got["本年收入合计"], section)
            return


def _economic(b: Builder, lines, start, stop, section):
    """基本支出决算表 by 经济分类: two tables side by side (工资福利支出 and 对个人和家庭的补助 on
    the left, 商品和服务支出 and 资本性支出 on the right), each line code, name, 决算数. Each side
    is read alone: the other side blanked out, so offsets and columns stay as printed."""
    heads = [s for ln in lines[start:stop] for s in ln.segments() if s.printed.replace(" ", "") == "决算数"]
    if len(heads) != 2:
        return
    left_end = heads[0].col + 4  # the left table ends after its 决算数 column
    for side in (0, 1):
        sided = [_one_side(ln, left_end, side) for ln in lines]
        rows = []
        for i in range(start, stop):
            segs = sided[i].segments()
            if not segs or not CODE.match(segs[0].printed) or len(segs[0].printed) > 5:
                continue
            rest = segs[1:]
            cell = rest[0] if rest and not AMOUNT.match(rest[0].printed) else None
            nums = [x for x in rest if AMOUNT.match(x.printed)]
            if len(nums) != 1 or len(rest) != 1 + (cell is not None) or abs(nums[0].col - heads[side].col) > 8:
                continue
            rows.append((i, segs[0].printed, cell, {"决算数": nums[0]}))
        for (_, code, _, got), name in zip(rows, _wrapped_names(sided, start, stop, rows), strict=True):
            if name is None:
                continue
            level = 1 if len(code) == 3 else 2
            r = b.row("expenditure_by_economic", code, section, code=code, level=str(level),
                      parent_code="" if level == 1 else code[:3], name_zh=name, name_en=ECONOMIC_EN.get(name, ""))
            b.figure(r, "amount", got["决算数"], section)


@dataclass
class SidedLine(Line):
    """One side of a line of a two-sided table: only the cells left (side 0) or right (side 1)
    of `left_end`, at their printed offsets and columns."""

    left_end: float = 0.0
    side: int = 0

    def segments(self) -> list[Tok]:
        return [s for s in Line.segments(self) if (s.col < self.left_end) == (self.side == 0)]

    @property
    def bare(self) -> str:
        return "".join(re.sub(r"\s", "", s.printed) for s in self.segments())


def _one_side(ln: Line, left_end: float, side: int) -> Line:
    return SidedLine(ln.start, ln.text, left_end, side)


def _gpb_basic(b: Builder, lines, start, stop, section):
    """基本支出决算表: 人员经费合计 and 公用经费合计."""
    for ln in lines[start:stop]:
        for label, nums in _label_numbers(ln):
            bare = label.printed.replace(" ", "")
            item = {"人员经费合计": "personnel", "公用经费合计": "public_funds"}.get(bare)
            if item and len(nums) == 1:
                b.figure(b.item("expenditure_by_type", item, section), "amount", nums[0], section)


def _three_public(b: Builder, lines, start, stop, section):
    """三公 table: one line of twelve numbers (预算数, 决算数 of six columns); any other shape is
    not certain and is left out."""
    for ln in lines[start:stop]:
        labels, nums = _numbers(ln)
        if labels or not nums:
            continue
        if len(nums) != 12:
            return
        for n, (item, heading) in enumerate(THREE_PUBLIC):
            r = b.item("three_public_expenses", item, section, heading)
            b.figure(r, "budget_amount", nums[2 * n], section)
            b.figure(r, "amount", nums[2 * n + 1], section)
        return


# ---------------------------------------------------------------- 情况说明


def _with_sign_word(text: str, word: Tok, number: Tok) -> Tok:
    """The span of a signed figure (减少1.20, 减少 1.20 in a PDF) reaches back over its sign word
    when only spaces stand between them on its line, so that what it prints states the value; else
    the bare number."""
    if not text[word.end:number.start].strip(" "):
        return Tok(word.start, number.end, text[word.start:number.end], number.col)
    return number


def _sign(word: str, tok: Tok) -> str:
    return ("-" if word in ("减少", "下降", "降低") else "") + tok.value


HEADING = r"([一二三四五六七八九十]+、[^\n]{2,40}?)"


class Headings:
    """The last heading (一、…) printed before an offset. The text is scanned once (a figure
    asks for its heading each, and a scan per figure made a 40-page report slow): a heading is
    a line of its own, or the beginning of the figure's own line up to the figure."""

    def __init__(self, text: str):
        self.text = text
        found = [(m.end(), m.group(1).strip()) for m in re.finditer(rf"(?m)^\s*{HEADING}\s*$", text)]
        self.ends, self.names = [e for e, _ in found], [n for _, n in found]

    def before(self, offset: int) -> str:
        line_start = self.text.rfind("\n", 0, offset) + 1
        own = re.fullmatch(rf"\s*{HEADING}\s*", self.text[line_start:offset])
        if own:
            return own.group(1).strip()
        i = bisect_right(self.ends, line_start) - 1
        return self.names[i] if i >= 0 else "情况说明"


def _narrative(b: Builder, text: str, start: int, codes: dict[str, RowDraft]) -> None:
    f = Flat(text, start)
    t = f.text
    headings = Headings(text)

    def where(m):
        return "第三部分 情况说明 > " + headings.before(f.offsets[m.start()])

    def row(resource, item):
        return b.item(resource, item, "")

    def put(r, column, m, g, signed_by=None):
        tok = f.tok(m, g)
        value = _sign(m.group(signed_by), tok) if signed_by else None
        if signed_by:
            tok = _with_sign_word(text, f.tok(m, signed_by), tok)
        if not r.section:
            r.section = where(m)
        b.figure(r, column, tok, where(m), value)

    def change(what: str) -> str:
        return r"与\d{4}年度?相比，" + what + r"(增加|减少)" + NUM + r"万元，(增长|下降)" + NUM + "%"

    def total_with_change(label: str, item: str, not_after: str = "") -> None:
        """A 收入支出总计 sentence: one total for both sides, its change and change rate."""
        lookbehind = f"(?<!{not_after})" if not_after else ""
        m = re.search(lookbehind + label + NUM + r"万元。" + change(label), t)
        if m:
            for res in ("income", "expenditure_by_type"):
                r = row(res, item)
                put(r, "amount", m, 1)
                put(r, "change_amount", m, 3, signed_by=2)
                put(r, "change_pct", m, 5, signed_by=4)

    # 一、收入支出总计
    total_with_change("收入支出总计", "total", not_after="财政拨款")
    # 二、收入: 本年收入合计 and each source with its share
    m = re.search(r"本年收入合计" + NUM + r"万元，其中：", t)
    if m:
        put(row("income", "current_year_total"), "amount", m, 1)
        mm = re.compile(r"其中：财政拨款收入" + NUM + r"万元(?:，占" + NUM + "%)?").match(t, m.end() - 3)
        if mm:
            put(row("income", "fiscal"), "amount", mm, 1)
            if mm.group(2):  # its share of 本年收入合计
                put(row("income", "fiscal"), "share_pct", mm, 2)
        tail = t[m.end(): m.end() + 300].split("。")[0]
        for mm in re.finditer(r"([\u4e00-\u9fff]+?)" + NUM + r"万元，占" + NUM + "%", tail):
            label = mm.group(1)
            item = INCOME_LABELS.get(label, "")
            if ITEMS["income"].get(item, Item("", "", "", "")).parent == "current_year_total":
                r = row("income", item)
                mm2 = re.compile(re.escape(label) + NUM + r"万元，占" + NUM + "%").search(t, m.end() + mm.start())
                put(r, "amount", mm2, 1)
                put(r, "share_pct", mm2, 2)
    # 三、支出: 基本支出 / 项目支出 with shares
    m = re.search(r"本年支出合计" + NUM + r"万元，其中：基本支出" + NUM + r"万元，占" + NUM + r"%；项目支出" + NUM
                  + r"万元，占" + NUM + "%", t)
    if m:
        put(row("expenditure_by_type", "current_year_total"), "amount", m, 1)
        put(row("expenditure_by_type", "basic"), "amount", m, 2)
        put(row("expenditure_by_type", "basic"), "share_pct", m, 3)
        put(row("expenditure_by_type", "project"), "amount", m, 4)
        put(row("expenditure_by_type", "project"), "share_pct", m, 5)
    # 四、财政拨款收入支出总计
    total_with_change("财政拨款收入支出总计", "fiscal_total")
    # 五、一般公共预算财政拨款支出
    m = re.search(r"一般公共预算财政拨款支出" + NUM + r"万元，占本年支出合计的" + NUM + "%。"
                  + change("一般公共预算财政拨款支出"), t)
    if m:
        r = row("expenditure_by_type", "gpb_total")
        put(r, "amount", m, 1)
        put(r, "share_pct", m, 2)
        put(r, "change_amount", m, 4, signed_by=3)
        put(r, "change_pct", m, 6, signed_by=5)
    m = re.search(r"一般公共预算财政拨款支出" + NUM + r"万元，主要用于以下方面", t)
    if m:  # (二) 结构情况: the total printed again before its 类
        put(row("expenditure_by_type", "gpb_total"), "amount", m, 1)
    by_name = {r.fields["name_zh"]: r for c, r in codes.items() if len(c) == 3}
    for m in re.finditer(r"([\u4e00-\u9fff]+?)（类）" + NUM + r"万元，占" + NUM + "%", t):
        r = by_name.get(m.group(1).lstrip("及和、"))
        if r is not None:
            put(r, "amount", m, 2)
            put(r, "share_pct", m, 3)
    m = re.search(r"一般公共预算财政拨款支出年初预算为" + NUM + r"万元，全年预算为" + NUM + r"万元，支出决算为" + NUM
                  + r"万元，完成(年初|全年)预算的" + NUM + "%", t)
    if m:
        r = row("expenditure_by_type", "gpb_total")
        put(r, "budget_initial_amount", m, 1)
        put(r, "budget_amount", m, 2)
        put(r, "amount", m, 3)
        put(r, "budget_completion_pct", m, 5)
        _completion_break(b, r, m.group(4), m.group(1), m.group(2), m.group(3), m.group(5), where(m))
    _items(b, f, codes, put, where)
    # 六、基本支出: 人员经费 / 公用经费
    m = re.search(r"一般公共预算财政拨款基本支出" + NUM + r"万元。其中：人员经费" + NUM + r"万元[^；]*?；公用经费" + NUM
                  + r"万元", t)
    if m:
        put(row("expenditure_by_type", "gpb_basic"), "amount", m, 1)
        put(row("expenditure_by_type", "personnel"), "amount", m, 2)
        put(row("expenditure_by_type", "public_funds"), "amount", m, 3)
    _indicators(b, f, where)


def _completion_break(b, r, base, initial, full, final, pct, where):
    """完成年初预算的 x% where x is the share of the 全年预算, or the 年初预算 is 0: a break."""
    printed = Decimal(pct)
    denom = Decimal(initial) if base == "年初" else Decimal(full)
    if denom == 0:
        b.broke(r.resource, r.key, "budget_completion_pct", "budget_completion", pct,
                f"{final} / {initial} ({base}预算) is undefined", where + f": 完成{base}预算的{pct}%")
        return
    computed = (Decimal(final) / denom * 100).quantize(printed)
    if computed != printed:
        b.broke(r.resource, r.key, "budget_completion_pct", "budget_completion", pct, str(computed), where)


def _items(b: Builder, f: Flat, codes: dict[str, RowDraft], put, where) -> None:
    """五(三) item by item: 类（类）款（款）项（项）… 全年预算为 x 万元，支出决算为 y 万元[，完成全年预算数的 z%]."""
    for m in re.finditer(r"\d+、([\u4e00-\u9fff]+?)（类）([\u4e00-\u9fff（）]+?)（款）([\u4e00-\u9fff（）]+?)（项）"
                         r"(?:(?!（项）).){0,200}?全年预算为" + NUM + r"万元，支出决算为" + NUM + r"万元"
                         r"(?:，完成全年预算数?的" + NUM + "%)?", f.text):
        code = _code_by_path(codes, m.group(1), m.group(2), m.group(3))
        if code is None:
            continue
        r = codes[code]
        put(r, "budget_amount", m, 4)
        put(r, "amount", m, 5)
        if m.group(6):
            put(r, "budget_completion_pct", m, 6)
            budget = Decimal(m.group(4))
            if budget:
                computed = (Decimal(m.group(5)) / budget * 100).quantize(Decimal(m.group(6)))
                if computed != Decimal(m.group(6)):
                    b.broke(r.resource, r.key, "budget_completion_pct", "budget_completion", m.group(6),
                            str(computed), where(m))


def _code_by_path(codes: dict[str, RowDraft], lei: str, kuan: str, xiang: str) -> str | None:
    found = [c for c, r in codes.items() if len(c) == 7 and r.fields["name_zh"] == xiang
             and codes.get(c[:5]) is not None and codes[c[:5]].fields["name_zh"] == kuan
             and codes.get(c[:3]) is not None and codes[c[:3]].fields["name_zh"] == lei]
    return found[0] if len(found) == 1 else None


# indicators: metric_id -> (pattern with one NUM group of the value, category, name_zh, name_en, unit_zh, unit_en)
WAN = ("万元", "10,000 yuan")
INDICATORS = [
    ("operating_costs", r"机关运行经费支出" + NUM + "万元", "operating_costs", "机关运行经费支出",
     "Administrative operating costs", *WAN),
    ("procurement_total", r"政府采购(?:支出)?总?金额(?:（以合同签订为准）)?为" + NUM + "万元", "procurement",
     "政府采购金额", "Government procurement spending", *WAN),
    ("procurement_goods", r"货物采购金额" + NUM + "万元", "procurement", "货物采购金额",
     "Government procurement of goods", *WAN),
    ("procurement_works", r"工程采购金额" + NUM + "万元", "procurement", "工程采购金额",
     "Government procurement of works", *WAN),
    ("procurement_services", r"服务采购金额" + NUM + "万元", "procurement", "服务采购金额",
     "Government procurement of services", *WAN),
    ("procurement_sme_reserved_budget", r"面向中小企业预留政府采购项目预算金额" + NUM + "万元", "procurement",
     "面向中小企业预留政府采购项目预算金额", "Procurement budget reserved for small and medium enterprises", *WAN),
    ("procurement_small_micro_reserved_budget", r"面向小微企业预留政府采购项目预算金额" + NUM + "万元", "procurement",
     "面向小微企业预留政府采购项目预算金额", "Procurement budget reserved for small and micro enterprises", *WAN),
    ("procurement_sme_reserved_awarded_sme",
     r"面向中小企业预留的?政府采购项目中，由中小企业供应商中标或成交的，采购金额" + NUM + "万元", "procurement",
     "面向中小企业预留的政府采购项目中由中小企业供应商中标或成交的采购金额",
     "Procurement reserved for small and medium enterprises, awarded to them", *WAN),
    ("procurement_small_micro_reserved_awarded_small_micro",
     r"面向小微企业预留的?政府采购项目中，由小微企业供应商中标或成交的，采购金额" + NUM + "万元", "procurement",
     "面向小微企业预留的政府采购项目中由小微企业供应商中标或成交的采购金额",
     "Procurement reserved for small and micro enterprises, awarded to them", *WAN),
    ("procurement_other_awarded_sme", r"其他政府采购项目中，由中小企业供应商中标或成交的，采购金额" + NUM + "万元",
     "procurement", "其他政府采购项目中由中小企业供应商中标或成交的采购金额",
     "Other procurement awarded to small and medium enterprises", *WAN),
    ("vehicles_held", r"共有车辆" + NUM + "辆", "assets", "共有车辆", "Vehicles held", "辆", "vehicles"),
    ("projects_with_targets", r"编报绩效目标的\d{4}年度项目" + NUM + "个", "performance", "编报绩效目标的项目",
     "Projects with performance targets set", "个", "projects"),
    ("projects_with_targets_budget", r"编报绩效目标的\d{4}年度项目\d+个，涉及预算金额" + NUM + "万元", "performance",
     "编报绩效目标的项目涉及预算金额", "Budget of the projects with performance targets", *WAN),
    ("projects_tracked", r"绩效跟踪评价的\d{4}年度项目" + NUM + "个", "performance", "绩效跟踪评价的项目",
     "Projects under performance tracking evaluation", "个", "projects"),
    ("projects_tracked_budget", r"绩效跟踪评价的\d{4}年度项目\d+个，涉及预算金额" + NUM + "万元", "performance",
     "绩效跟踪评价的项目涉及预算金额", "Budget of the projects under performance tracking evaluation", *WAN),
    ("projects_self_evaluated", r"绩效自评的\d{4}年度项目" + NUM + "个", "performance", "绩效自评的项目",
     "Projects given a performance self-evaluation", "个", "projects"),
    ("projects_self_evaluated_budget", r"绩效自评的\d{4}年度项目\d+个，涉及预算金额" + NUM + "万元", "performance",
     "绩效自评的项目涉及预算金额", "Budget of the self-evaluated projects", *WAN),
    ("projects_self_evaluated_mean_score",
     r"绩效自评的\d{4}年度项目\d+个，涉及预算金额[\d.]+万元，平均得分" + NUM + "分",
     "performance", "绩效自评平均得分", "Average self-evaluation score", "分", "points"),
    ("projects_rated_excellent", r"绩效评级为“优”的项目" + NUM + "个", "performance", "绩效评级为“优”的项目",
     "Projects rated excellent", "个", "projects"),
    ("projects_rated_good", r"绩效评级为“良”的项目" + NUM + "个", "performance", "绩效评级为“良”的项目",
     "Projects rated good", "个", "projects"),
    ("projects_rated_pass", r"绩效评级为“合格”的项目" + NUM + "个", "performance", "绩效评级为“合格”的项目",
     "Projects rated pass", "个", "projects"),
    ("projects_rated_fail", r"绩效评级为“不合格”的项目" + NUM + "个", "performance", "绩效评级为“不合格”的项目",
     "Projects rated fail", "个", "projects"),
    ("self_evaluation_problems_found", r"绩效自评中共发现问题" + NUM + "个", "performance", "绩效自评中共发现问题",
     "Problems found in the self-evaluations", "个", "problems"),
]
VEHICLE_KINDS = {
    "部级领导干部用车": ("ministerial", "Vehicles for ministerial-level officials"),
    "主要领导干部用车": ("principal_leaders", "Vehicles for principal leaders"),
    "机要通信用车": ("confidential_communication", "Confidential communication vehicles"),
    "应急保障用车": ("emergency", "Emergency support vehicles"),
    "执法执勤用车": ("law_enforcement", "Law-enforcement vehicles"),
    "特种专业技术用车": ("special_technical", "Special technical vehicles"),
    "离退休干部用车": ("retired_cadres", "Vehicles for retired cadres"),
    "其他用车": ("other", "Other vehicles"),
}


def _indicators(b: Builder, f: Flat, where) -> None:
    def one(metric, m, g, category, name, en, unit, unit_en, value=None):
        r = b.row("indicators", metric, where(m), metric_id=metric, category=category, name_zh=name, name_en=en,
                  unit_zh=unit, unit_en=unit_en, qualifier="exact")
        tok = f.tok(m, g)
        if value is not None and value.startswith("-"):
            tok = _with_sign_word(f.source, f.tok(m, g - 1), tok)
        b.figure(r, "value", tok, where(m), value)

    for metric, pattern, category, name, en, unit, unit_en in INDICATORS:
        found = list(re.finditer(pattern, f.text))
        if len(found) == 1:  # twice or more: which one is meant is not certain
            one(metric, found[0], 1, category, name, en, unit, unit_en)
    m = re.search(r"机关运行经费支出[\d.]+万元，比\d{4}年度?(增加|减少)" + NUM + r"万元，(增长|下降)" + NUM + "%",
                  f.text)
    if m:
        one("operating_costs_change", m, 2, "operating_costs", "机关运行经费比上年增加",
            "Administrative operating costs, change on the previous year", *WAN, value=_sign(m.group(1), f.tok(m, 2)))
        one("operating_costs_change_pct", m, 4, "operating_costs", "机关运行经费增长",
            "Administrative operating costs, change on the previous year", "%", "percent",
            value=_sign(m.group(3), f.tok(m, 4)))
    m = re.search(r"共有车辆\d+辆，其中：", f.text)
    if m:
        part = f.text[m.end(): m.end() + 200].split("。")[0]
        for label, (kind, en) in VEHICLE_KINDS.items():
            mm = re.compile(re.escape(label) + NUM + "辆").search(f.text, m.end(), m.end() + len(part))
            if mm:
                one(f"vehicles_{kind}", mm, 1, "assets", label, en, "辆", "vehicles")
    m = re.search(r"单价100万元（含）以上设备（不含车辆）" + NUM + r"台（套）", f.text)
    if m:
        one("equipment_over_1m_yuan", m, 1, "assets", "单价100万元（含）以上设备（不含车辆）",
            "Equipment of 1,000,000 yuan or more a unit (vehicles excluded)", "台（套）", "sets")


# ---------------------------------------------------------------- sums


def _sums(b: Builder, codes: dict[str, RowDraft], heads: dict[str, str]) -> None:
    """The first column of a code table = the sum of the others (合计 = 基本支出 + 项目支出 …) on
    each line that prints its parts; a line that does not add up is a Break, nothing is
    corrected. (Sums of children, shares and totals are the identities `validate` checks on the
    written package: extract adds its findings to the review.)"""
    total_col, *part_cols = heads.values()
    for code, r in codes.items():
        a = dec(r.fields.get(total_col) or "")
        parts = [dec(r.fields.get(c) or "") for c in part_cols]
        if a is not None and any(p is not None for p in parts):
            total = sum((p for p in parts if p is not None), Decimal(0))
            if total != a:
                b.broke(r.resource, r.key, total_col, "sum_of_columns", a, total,
                        f"{r.section}: {code} {list(heads)[0]} vs {' + '.join(list(heads)[1:])}")


def _economic_sums(b: Builder) -> None:
    """A 类 of the economic table = the sum of its 款 (all printed, 0.00 included): else a Break."""
    rows = {k: r for (res, k), r in b.rows.items() if res == "expenditure_by_economic"}
    for code, r in rows.items():
        children = [c for c in rows if len(code) == 3 and len(c) == 5 and c.startswith(code)]
        if not children or not r.fields.get("amount"):
            continue
        total = sum((dec(rows[c].fields.get("amount") or "0") or Decimal(0) for c in children), Decimal(0))
        if total != dec(r.fields["amount"]):
            b.broke(r.resource, code, "amount", "sum_of_children", r.fields["amount"], total,
                    f"{r.section}: {code} {r.fields.get('name_zh', '')} vs the sum of its {len(children)} lines")


# ---------------------------------------------------------------- result


def _non_fiscal(b: Builder) -> None:
    """财政拨款收入 is a part of 本年收入合计 (its share is printed); the other part, income
    other than fiscal appropriations, is not printed: derived by its rule, so that the two
    parts add up and the share is checked."""
    total, fiscal = b.rows.get(("income", "current_year_total")), b.rows.get(("income", "fiscal"))
    if total is None or fiscal is None or not total.fields.get("amount") or not fiscal.fields.get("amount"):
        return
    r = b.item("income", "non_fiscal", fiscal.section)
    r.fields["amount"] = str(Decimal(total.fields["amount"]) - Decimal(fiscal.fields["amount"]))
    r.derivation = "{income:current_year_total} - {income:fiscal}"
    r.quotes = [total.quotes[0], fiscal.quotes[0]]


def _draft(b: Builder, text: str, department: str, fiscal_year: int, source_id: str) -> Draft:
    rows: dict[str, list[dict[str, str]]] = {}
    located = {(s.resource, s.row_key) for s in b.spans}
    for r in b.rows.values():
        if (r.resource, r.key) not in located and not r.derivation:  # a row is drafted for its figures
            continue
        row = dict(r.fields)
        row.update(fiscal_year=str(fiscal_year), department=department, source_id=source_id,
                   source_section=r.section or "第三部分 情况说明", source_quote=" … ".join(r.quotes),
                   derived="true" if r.derivation else "false", derivation=r.derivation)
        rows.setdefault(r.resource, []).append(row)
    return Draft(text=text, department=department, fiscal_year=fiscal_year, source_id=source_id, rows=rows,
                 spans=b.spans, breaks=b.breaks)

