"""The report's figures 图1–图7, redrawn from the data as PNGs with a CJK font.

Every number printed on a chart is the Decimal from the CSV (or an exact Decimal difference),
formatted with str(), never a float repr. Bar lengths are floats, which is harmless.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .sqlite import BuildError, Package, Table

CJK_NAMES = re.compile(r"noto ?sans ?cjk|noto ?serif ?cjk|noto ?sans ?sc|source ?han|wenquanyi|wqy|pingfang|"
                       r"microsoft ?yahei|simhei|heiti", re.I)
UNIT = "万元 (10,000 yuan)"
CHART_TABLES = ("income", "expenditure_by_type", "expenditure_by_function", "three_public_expenses")
MAX_DEPARTMENT_YEARS = 12  # a scale-test package of thousands of department-years gets charts for the first 12
COLORS = ["#2f6690", "#d9822b", "#3a7d44", "#9b2226", "#6c757d", "#7b2cbf", "#bc6c25", "#006d77"]


class ChartError(BuildError):
    """A chart cannot be drawn: missing font or missing data row."""


def cjk_font() -> str:
    """Path of an installed CJK font (Noto Sans CJK preferred); ChartError if there is none."""
    # the cache may list a font removed since (is_file), or predate the font's installation
    found = [f.fname for f in font_manager.fontManager.ttflist if CJK_NAMES.search(f.name) and Path(f.fname).is_file()]
    if not found:
        found = [p for p in font_manager.findSystemFonts() if CJK_NAMES.search(Path(p).name.replace("-", " "))]
    if not found:
        raise ChartError(
            "charts need a CJK font and none is installed: on Debian/Ubuntu run "
            "`sudo apt-get install fonts-noto-cjk`, or build without charts: `bazhong-accounts build --no-charts`"
        )
    # Sans before serif, regular before bold/light.
    return sorted(found, key=lambda p: ("Serif" in p, "Regular" not in Path(p).name, p))[0]


def fmt(d: Decimal) -> str:
    return str(d)


# ---------------------------------------------------------------- data access


class _Data:
    """The rows of the chart tables for one fiscal year and department."""

    def __init__(self, tables: dict[str, list[dict]], fy: int, dept: str):
        self.fy, self.dept = fy, dept
        self._rows = {t: [r for r in rows if r["fiscal_year"] == fy and r["department"] == dept]
                      for t, rows in tables.items()}

    def rows(self, table: str) -> list[dict]:
        return self._rows[table]

    def row(self, table: str, item_id: str) -> dict:
        for r in self.rows(table):
            if r.get("item_id") == item_id:
                return r
        raise ChartError(f"charts: {table} has no row item_id={item_id!r} for {self.fy} {self.dept}")

    def children(self, table: str, parent: str, breakdown: str) -> list[dict]:
        out = [r for r in self.rows(table) if r["parent_item_id"] == parent and r["breakdown"] == breakdown]
        out.sort(key=lambda r: -r["amount"])  # largest on top
        if not out:
            raise ChartError(f"charts: {table} has no rows under {parent!r} ({breakdown}) for {self.fy} {self.dept}")
        return out

    def prior(self, table: str, r: dict) -> Decimal:
        """Prior-year amount: printed, else amount − change."""
        if r["prior_year_amount"] is not None:
            return r["prior_year_amount"]
        if r["change_amount"] is None:
            raise ChartError(f"charts: {table} row {r['item_id']!r} has neither prior_year_amount nor change_amount")
        return r["amount"] - r["change_amount"]


# ---------------------------------------------------------------- drawing


def _figure(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(9, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=13)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _comparison(title: str, groups: list[tuple[str, Decimal, Decimal]], fy: int) -> tuple[Figure, str]:
    """Grouped bars prior year vs fiscal year; groups = (label, prior, current)."""
    fig, ax = _figure(title)
    width = 0.38
    alt = []
    for i, (label, prior, current) in enumerate(groups):
        for j, (year, v) in enumerate(((fy - 1, prior), (fy, current))):
            x = i + (j - 0.5) * width
            ax.bar(x, float(v), width, color=COLORS[j], label=f"{year}年 / {year}" if i == 0 else None)
            ax.annotate(fmt(v), (x, float(v)), ha="center", va="bottom", fontsize=11, xytext=(0, 3),
                        textcoords="offset points")
        alt.append(f"{label.replace(chr(10), ' ')}: {fy - 1} {fmt(prior)}, {fy} {fmt(current)}")
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set_xlim(-0.9, len(groups) - 0.1)  # keeps a single pair of bars from filling the width
    ax.set_ylabel(UNIT)
    top = max(float(max(p, c)) for _, p, c in groups)
    ax.set_ylim(0, top * 1.15 if top > 0 else 1)
    ax.legend(loc="upper left", frameon=False)
    return fig, "; ".join(alt) + f" ({UNIT})"


def _structure(title: str, rows: list[dict]) -> tuple[Figure, str]:
    """Horizontal bars, one per row, labelled with the exact amount and the printed share."""
    fig, ax = _figure(title)
    rows = list(reversed(rows))  # first row on top
    labels, alt = [], []
    top = max(float(r["amount"]) for r in rows) or 1.0
    for i, r in enumerate(rows):
        v = r["amount"]
        ax.barh(i, float(v), color=COLORS[(len(rows) - 1 - i) % len(COLORS)])
        share = f"（{fmt(r['share_pct'])}%）" if r.get("share_pct") is not None else ""
        ax.annotate(f"{fmt(v)}{share}", (float(v), i), va="center", fontsize=11, xytext=(4, 0),
                    textcoords="offset points")
        labels.append(f"{r['name_zh']}\n{r['name_en']}")
        alt.append(f"{r['name_zh']} {fmt(v)}{share}")
    ax.set_yticks(range(len(rows)), labels, fontsize=9)
    ax.set_xlim(0, top * 1.3)
    ax.set_xlabel(UNIT)
    return fig, "; ".join(reversed(alt)) + f" ({UNIT})"


def _draw_all(d: _Data):
    """(number, title_zh, title_en, tables used, (figure, alt text)) of 图1–图7."""
    fy = d.fy
    inc_total, exp_total = d.row("income", "total"), d.row("expenditure_by_type", "total")
    inc_fiscal, exp_fiscal = d.row("income", "fiscal_total"), d.row("expenditure_by_type", "fiscal_total")
    gpb = d.row("expenditure_by_type", "gpb_total")
    classes = sorted((r for r in d.rows("expenditure_by_function") if r["level"] == 1), key=lambda r: r["code"])
    if not classes:
        raise ChartError(f"charts: expenditure_by_function has no 类 (level 1) rows for {fy} {d.dept}")
    def bar(label: str, table: str, row: dict) -> tuple:
        """(label, prior-year amount, amount) of one row."""
        return label, d.prior(table, row), row["amount"]

    specs = [
        (1, "收、支决算总计变动情况", "Total income and expenditure", ["income", "expenditure_by_type"],
         lambda t: _comparison(t, [bar("收入总计\nTotal income", "income", inc_total),
                                   bar("支出总计\nTotal expenditure", "expenditure_by_type", exp_total)], fy)),
        (2, "收入决算结构", "Structure of income", ["income"],
         lambda t: _structure(t, d.children("income", "current_year_total", "by_source"))),
        (3, "支出决算结构", "Structure of expenditure", ["expenditure_by_type"],
         lambda t: _structure(t, d.children("expenditure_by_type", "current_year_total", "by_type"))),
        (4, "财政拨款收、支决算总计变动情况", "Fiscal appropriation income and expenditure",
         ["income", "expenditure_by_type"],
         lambda t: _comparison(t, [bar("财政拨款收入总计\nFiscal appropriation income", "income", inc_fiscal),
                                   bar("财政拨款支出总计\nFiscal appropriation expenditure", "expenditure_by_type",
                                       exp_fiscal)], fy)),
        (5, "一般公共预算财政拨款支出决算变动情况", "General public budget appropriation expenditure",
         ["expenditure_by_type"],
         lambda t: _comparison(t, [bar("一般公共预算财政拨款支出\nGeneral public budget appropriation expenditure",
                                       "expenditure_by_type", gpb)], fy)),
        (6, "一般公共预算财政拨款支出决算结构（按功能分类·类）", "Expenditure by function class",
         ["expenditure_by_function"],
         lambda t: _structure(t, classes)),
        (7, "“三公”经费财政拨款支出结构", "Three public expenses", ["three_public_expenses"],
         lambda t: _structure(t, d.children("three_public_expenses", "total", "by_category"))),
    ]
    for n, zh, en, used, draw in specs:
        yield n, zh, en, used, draw(f"图{n} {zh}\nFig. {n} {en}, {fy}")


def department_years(t: Table) -> list[tuple[str, int]]:
    """Every (department, fiscal year) of the table, sorted. Only the first record of each is typed:
    at 10,000 department-years, typing every row was a third of the charts' time."""
    names = t.field_names()
    scope = itemgetter(names.index("fiscal_year"), names.index("department"))
    seen: set[tuple[str, ...]] = set()

    def first_of_its_department_year(cells: list[str]) -> bool:
        key = scope(cells)
        if key in seen:
            return False
        seen.add(key)
        return True

    return sorted({(r["department"], r["fiscal_year"]) for r in t.iter_rows(first_of_its_department_year)})


def rows_of(t: Table, wanted: set[tuple[int, str]]) -> list[dict]:
    """The typed rows of the (fiscal year, department) pairs `wanted`; the others' cells are only
    compared as text (their department), never typed."""
    departments = {dept for _, dept in wanted}
    column = t.field_names().index("department")
    rows = t.iter_rows(lambda cells: cells[column] in departments)
    return [r for r in rows if (r["fiscal_year"], r["department"]) in wanted]


def build_charts(pkg: Package, out_dir: str | Path) -> list[dict]:
    """Draw 图1–图7 for every (fiscal year, department) of the income table into out_dir as PNGs,
    plus charts.json (titles, files, alt text with the exact values) for the /charts page."""
    out_dir = Path(out_dir)
    font = cjk_font()
    font_manager.fontManager.addfont(font)
    family = font_manager.FontProperties(fname=font).get_name()
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    all_pairs = department_years(pkg.tables["income"])
    pairs = [(fy, dept) for dept, fy in all_pairs[:MAX_DEPARTMENT_YEARS]]
    if len(all_pairs) > len(pairs):
        print(f"charts: drawn for the first {len(pairs)} of {len(all_pairs)} department-years", flush=True)
    tables = {t: rows_of(pkg.tables[t], set(pairs)) for t in CHART_TABLES}
    with matplotlib.rc_context({"font.family": [family], "axes.unicode_minus": False, "svg.fonttype": "none"}):
        for fy, dept in pairs:
            for n, zh, en, used, (fig, alt) in _draw_all(_Data(tables, fy, dept)):
                name = f"{dept}-{fy}-fig{n}.png"
                fig.savefig(out_dir / name, metadata={"Software": None})
                manifest.append({"file": name, "figure": n, "fiscal_year": fy, "department": dept,
                                 "title_zh": f"图{n} {zh}", "title_en": f"Fig. {n} {en}", "alt": alt, "tables": used})
    (out_dir / "charts.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest
