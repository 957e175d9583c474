"""Check (d): accounting identities in exact decimal arithmetic, and the errata that explain the
breaks the source itself contains.

- summary tables (income, expenditure_by_type, three_public_expenses): the parts of each
  (parent, breakdown) add up to the parent; share_pct = amount / parent amount * 100;
  prior_year_amount = amount - change_amount; change_pct = change / (amount - change) * 100;
- expenditure_by_function: 项 add up to their 款, 款 to their 类, 类 to expenditure_by_type
  `gpb_total`; share_pct = amount / gpb_total * 100;
- projects: fiscal + other = budget and = executed; completion_pct = executed / budget * 100;
- three_public_expenses_counts: counts with a parent add up to it;
- organisation: one root unit per fiscal year and department, no cycles; overseas_trips rows =
  the `overseas_delegations` count; a row's source is the report of its year and department;
- errata: each names an existing row and cell and carries its value; a break matching an erratum
  (resource, fiscal_year, department, row_key, check, and the erratum's column among the
  break's columns) is known; an erratum with a check that matches no break is stale.

Percentages are compared at the printed precision, rounded half up: 5.4 -> 1 decimal. The test
is exact: (|p| - h) * base <= |part| * 100 < (|p| + h) * base with h = half a unit of the last
printed decimal, all in Decimal, so no division and no float.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataclasses import dataclass, field
from decimal import Decimal

from ..model import roles
from ..model.problems import Problem, Report, known_message
from ..model.table import Table, as_arrow, join_keys, scaled_integers
from ..lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pandas as pd
else:  # imported when first used: the SQL engines read this module's rules and words only
    pd = lazy("pandas")
    np = lazy("numpy")
    pa = lazy("pyarrow")
    pc = lazy("pyarrow.compute")


@dataclass
class Break:
    check: str
    table: Table
    row: int
    column: str
    message: str
    keys: set = field(default_factory=set)  # (resource, row_key) an erratum may name
    columns: set = field(default_factory=set)  # columns an erratum may name

    @property
    def fy(self) -> str:
        return self.table.col("fiscal_year")[self.row] if "fiscal_year" in self.table.fields else ""

    @property
    def dept(self) -> str:
        return self.table.col("department")[self.row] if "department" in self.table.fields else ""

    def problem(self) -> Problem:
        t = self.table
        return Problem(t.path, int(t.lines[self.row]), self.column, self.message, t.col_no(self.column))


def fmt(d) -> str:
    """A Decimal as plain text without exponent or trailing zeros."""
    if d is None:
        return "?"
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _objs(a) -> np.ndarray:
    return np.asarray(a, dtype=object)


def decimals(text: pd.Series) -> np.ndarray:
    """Printed decimals of each number: 5.4 -> 1, 100 -> 0."""
    dot = text.str.find(".").to_numpy()
    return np.where(dot >= 0, text.str.len().to_numpy() - dot - 1, 0)


HALF = {d: Decimal(5).scaleb(-(d + 1)) for d in range(0, 12)}


def rate_ok(part, base, printed, printed_text: pd.Series) -> np.ndarray:
    """True where `printed` is part / base * 100 rounded half up to its printed decimals."""
    part, base, printed = _objs(part), _objs(base), _objs(printed)
    h = _objs([HALF.get(d, HALF[11]) for d in decimals(printed_text)])
    scaled = np.abs(part) * 100
    absq = np.abs(printed)
    lower = ((absq - h) * base <= scaled).astype(bool)
    upper = (scaled < (absq + h) * base).astype(bool)
    sign = ((printed == 0) | ((part < 0) == (printed < 0))).astype(bool)
    return lower & upper & sign


def rate_text(part, base, decimals_: int) -> str:
    if not base:
        return "undefined (base 0)"
    x = part / base * 100
    return fmt(x.quantize(Decimal(1).scaleb(-(decimals_ + 3))))


class RowIndex:
    """Row lookup by (fiscal_year, department, row key) within one table."""

    def __init__(self, t: Table):
        self.t = t
        self.keys = join_keys(*[t.text[c] for c in t.scope()], t.row_keys())

    def find(self, fy, dept, key) -> np.ndarray:
        """Row number of each (fy, dept, key), -1 where there is none."""
        if len(fy) == 0:
            return np.zeros(0, dtype=int)
        found = pc.index_in(join_keys(fy, dept, key), value_set=self.keys)
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(int)


def Rows(t: Table) -> RowIndex:  # noqa: N802 - reads as the table's rows
    """The row index of `t`, built once per table."""
    if "rows" not in t.cache:
        t.cache["rows"] = RowIndex(t)
    return t.cache["rows"]


def _children_list(t, rows, value_col) -> str:
    if len(rows) > 8:
        return f"{len(rows)} parts"
    return " + ".join(f"{t.row_key(r)} {t.col(value_col)[r]}" for r in rows)


class GroupSums:
    """Sum of value_col per (fiscal_year, department, parent, group) over the rows that have a
    parent. Exact: int64 at the column's decimal scale, or Decimal if that could overflow."""

    def __init__(self, t: Table, parent_col: str, value_col: str, group_col: str | None):
        rows = np.flatnonzero(~t.eq(parent_col, ""))
        self.rows = rows
        take = pa.array(rows)
        cols = [t.arrow(c).take(take) for c in (*t.scope(), parent_col)]  # the department-year, the parent
        cols.append(t.arrow(group_col).take(take) if group_col else pa.array([""] * len(rows), pa.large_string()))
        codes = pc.dictionary_encode(join_keys(*cols)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.codes = codes
        n = int(codes.max()) + 1 if len(codes) else 0
        first = np.full(n, len(rows), dtype=np.int64)
        np.minimum.at(first, codes, np.arange(len(rows)))
        self.fy, self.dept, self.parent, self.group = (
            c.take(pa.array(first)).to_numpy(zero_copy_only=False) for c in cols)
        ok = t.usable(value_col)[rows]
        self.missing = np.bincount(codes, weights=~ok, minlength=n) > 0
        exact = scaled_integers(t.text[value_col], t.usable(value_col))
        self.scale: int | None
        if exact is not None:
            values, self.scale = exact
            self.total = pd.Series(values[rows]).groupby(codes).sum().reindex(range(n), fill_value=0).to_numpy()
            self.own_values = values
        else:  # Decimal, slower
            self.scale = None  # Decimal sums: no scale
            dec = t.dec(value_col)
            self.total = pd.Series(dec[rows]).groupby(codes).sum().reindex(range(n)).to_numpy()
            self.own_values = dec
        self.order = np.argsort(codes, kind="stable")
        self.bounds = np.searchsorted(codes[self.order], np.arange(n + 1))

    def __len__(self) -> int:
        return len(self.fy)

    def members(self, g: int) -> np.ndarray:
        return self.rows[self.order[self.bounds[g]: self.bounds[g + 1]]]

    def decimal(self, v) -> Decimal:
        return Decimal(int(v)).scaleb(-self.scale) if self.scale is not None else v


def is_sum_of_children(t: Table) -> np.ndarray:
    if "derivation" not in t.text:
        return np.zeros(len(t), dtype=bool)
    return ((t.text["derived"] == "true") & (t.text["derivation"].str.strip() == "sum(children)")).to_numpy()


def parts_sum(t: Table, parent_col: str, value_col: str, group_col: str | None) -> list[Break]:
    """For each (fiscal_year, department, parent, group): parts add up to the parent's value.
    A parent derived as sum(children) is left to the derivation check."""
    sums = GroupSums(t, parent_col, value_col, group_col)
    if not len(sums):
        return []
    pos = Rows(t).find(sums.fy, sums.dept, sums.parent)
    keep = ~sums.missing & (pos >= 0)
    keep[keep] &= ~is_sum_of_children(t)[pos[keep]] & t.usable(value_col)[pos[keep]]
    diff = np.zeros(len(pos), dtype=bool)
    diff[keep] = (_objs(sums.total[keep]) != _objs(sums.own_values[pos[keep]])).astype(bool)
    out = []
    for g in np.flatnonzero(diff):
        p, parts = int(pos[g]), sums.members(int(g))
        group = f"{sums.group[g]} " if sums.group[g] else ""
        out.append(Break(
            "parts_sum", t, p, value_col,
            f"parts do not add up: the {group}parts of `{sums.parent[g]}` sum to {fmt(sums.decimal(sums.total[g]))} "
            f"({_children_list(t, parts, value_col)}), the row has {t.col(value_col)[p]}",
            keys={(t.name, t.row_key(r)) for r in parts} | {(t.name, sums.parent[g])},
            columns={value_col}))
    return out


def rate_breaks(t: Table, check: str, pct_col: str, part, base, rows: np.ndarray, formula, columns: set) -> list[Break]:
    """A break for each of `rows` whose printed `pct_col` is not part / base * 100 at its printed
    rounding; rows with a value missing or a base <= 0 are skipped. formula(r) spells the division
    for the message ("executed / budget * 100 = 19.32 / 18")."""
    pct = t.dec(pct_col)
    rows = rows[~pd.isna(part[rows]) & ~pd.isna(base[rows]) & ~pd.isna(pct[rows])]
    rows = rows[(_objs(base[rows]) > 0).astype(bool)] if len(rows) else rows
    if not len(rows):
        return []
    ok = rate_ok(part[rows], base[rows], pct[rows], t.text[pct_col].iloc[rows].reset_index(drop=True))
    out = []
    for r in rows[~ok]:
        d = len(t.col(pct_col)[r].partition(".")[2])
        out.append(Break(check, t, int(r), pct_col,
                         f"{pct_col} {t.col(pct_col)[r]} does not match {formula(r)} * 100 = "
                                                    f"{rate_text(part[r], base[r], d)}",
                         keys={(t.name, t.row_key(r))}, columns={pct_col, *columns}))
    return out


def shares(t: Table, base: np.ndarray, rows: np.ndarray, what: str) -> list[Break]:
    """share_pct of `rows` against base[i] (Decimal per row of t, None if unknown)."""
    amount = t.dec("amount")
    return rate_breaks(t, "share", "share_pct", amount, base, rows,
                       lambda r: f"amount / {what} * 100 = {t.col('amount')[r]} / {fmt(base[r])}", {"amount"})


def summary_shares(t: Table) -> list[Break]:
    parent = t.text["parent_item_id"]
    has_share = ~t.missing("share_pct")
    pos = Rows(t).find(t.text["fiscal_year"], t.text["department"], parent)
    base = np.full(len(t), None, dtype=object)
    found = pos >= 0
    base[found] = t.dec("amount")[pos[found]]
    out = shares(t, base, np.flatnonzero(has_share & found), "parent amount")
    for r in np.flatnonzero(has_share & ~found & (parent == "").to_numpy()):
        out.append(Break("share", t, int(r), "share_pct", "share_pct given on a row without parent_item_id: "
                         "a share of what?", keys={(t.name, t.row_key(r))}, columns={"share_pct"}))
    return out


def changes(t: Table) -> list[Break]:
    """prior_year_amount = amount - change_amount; change_pct = change / prior * 100."""
    amount, prior, change = (t.dec(c) for c in ("amount", "prior_year_amount", "change_amount"))
    out = []
    both = np.flatnonzero(~pd.isna(amount) & ~pd.isna(prior) & ~pd.isna(change))
    if len(both):
        bad = both[(_objs(amount[both]) - _objs(change[both]) != _objs(prior[both])).astype(bool)]
        for r in bad:
            out.append(Break("change", t, int(r), "prior_year_amount",
                             f"prior_year_amount {t.col('prior_year_amount')[r]} is not amount - change_amount = "
                             f"{t.col('amount')[r]} - ({t.col('change_amount')[r]}) = {fmt(amount[r] - change[r])}",
                             keys={(t.name, t.row_key(r))}, columns={"prior_year_amount", "change_amount"}))
    # the base of the rate: the printed prior-year amount, else amount - change
    base = _objs(prior).copy()  # None where not printed
    derive = pd.isna(prior) & ~pd.isna(amount) & ~pd.isna(change)
    base[derive] = _objs(amount[derive]) - _objs(change[derive])
    part = _objs(change).copy()
    need = pd.isna(change) & ~pd.isna(prior) & ~pd.isna(amount)
    part[need] = _objs(amount[need]) - _objs(prior[need])
    out += rate_breaks(t, "change", "change_pct", part, base, np.arange(len(t)),
                       lambda r: f"change / prior-year amount * 100 = {fmt(part[r])} / {fmt(base[r])}",
                       {"change_amount"})
    return out


def function_vs_type(ebf: Table, ebt: Table | None) -> list[Break]:
    """类 rows add up to gpb_total of expenditure_by_type; share_pct of a row = amount / gpb_total."""
    out: list[Break] = []
    level = ebf.typed["level"]
    top = np.flatnonzero((level == 1).fillna(False).to_numpy())
    if ebt is None or not len(top):
        return out
    fy, dept = ebf.text["fiscal_year"], ebf.text["department"]
    gpb = Rows(ebt).find(fy, dept, ["gpb_total"] * len(ebf))
    base = np.full(len(ebf), None, dtype=object)
    base[gpb >= 0] = ebt.dec("amount")[gpb[gpb >= 0]]
    for r in top[gpb[top] < 0][:1]:
        out.append(Break("parts_sum", ebf, int(r), "amount", "no expenditure_by_type row `gpb_total` for this "
                         "fiscal year and department: the 类 rows have nothing to add up to"))
    amount = ebf.dec("amount")
    if not len(ebt):
        return out
    g = pd.DataFrame({"fy": fy.to_numpy()[top], "dept": dept.to_numpy()[top], "val": amount[top],
                      "missing": pd.isna(amount[top]), "gpb": gpb[top]})
    grouped = g.groupby("gpb", sort=False)
    sums = grouped.agg(total=("val", "sum"), missing=("missing", "any")).reset_index()
    members = list(grouped.indices.values())
    target = ebt.dec("amount")[sums["gpb"].clip(lower=0).to_numpy()]
    check = (sums["gpb"] >= 0).to_numpy() & ~sums["missing"].to_numpy() & ~pd.isna(target)
    diff = np.zeros(len(sums), dtype=bool)
    diff[check] = (_objs(sums["total"].to_numpy()[check]) != target[check]).astype(bool)
    for i in np.flatnonzero(diff):
        p, codes = int(sums["gpb"].iat[i]), top[members[i]]
        out.append(Break("parts_sum", ebt, p, "amount",
                         f"expenditure_by_function 类 rows sum to {fmt(sums['total'].iat[i])} "
                         f"({_children_list(ebf, codes, 'amount')}), gpb_total has {ebt.col('amount')[p]}",
                         keys={(ebt.name, "gpb_total")} | {(ebf.name, ebf.row_key(r)) for r in codes},
                         columns={"amount"}))
    out += shares(ebf, base, np.flatnonzero(~ebf.missing("share_pct")), "gpb_total")
    return out


def projects(t: Table) -> list[Break]:
    out = []
    for total, parts in (("budget", ("budget_fiscal", "budget_other")),
                         ("executed", ("executed_fiscal", "executed_other"))):
        whole, a, b = t.dec(total), t.dec(parts[0]), t.dec(parts[1])
        rows = np.flatnonzero(~pd.isna(whole) & ~pd.isna(a) & ~pd.isna(b))
        if not len(rows):
            continue
        bad = rows[(_objs(a[rows]) + _objs(b[rows]) != _objs(whole[rows])).astype(bool)]
        for r in bad:
            out.append(Break("fiscal_plus_other", t, int(r), total,
                             f"{parts[0]} + {parts[1]} = {t.col(parts[0])[r]} + {t.col(parts[1])[r]} = "
                             f"{fmt(a[r] + b[r])}, but {total} is {t.col(total)[r]}",
                             keys={(t.name, t.row_key(r))}, columns={total, *parts}))
    executed, budget = t.dec("executed"), t.dec("budget")
    out += rate_breaks(t, "completion_rate", "completion_pct", executed, budget, np.arange(len(t)),
                       lambda r: f"executed / budget * 100 = {t.col('executed')[r]} / {t.col('budget')[r]}",
                       {"executed", "budget"})
    return out


# ---------------------------------------------------------------- other cross-table checks


def organisation(t: Table, report: Report) -> None:
    parent = t.text["parent_unit_id"]
    roots = pd.DataFrame({"fy": t.text["fiscal_year"], "dept": t.text["department"], "root": parent == ""})
    per = roots.groupby(["fy", "dept"])["root"].sum()
    for (fy, dept), n in per.items():
        if n != 1:
            rows = np.flatnonzero(((roots["fy"] == fy) & (roots["dept"] == dept) & roots["root"]).to_numpy())
            line = int(t.lines[rows[1]]) if len(rows) > 1 else int(t.lines[np.flatnonzero(
                ((roots["fy"] == fy) & (roots["dept"] == dept)).to_numpy())[0]])
            report.add(t.path, line, "parent_unit_id",
                       f"{fiscal(fy, dept)} has {n} root units (units without parent_unit_id); expected exactly 1")
    # cycles: follow parents; a row still not at a root after len(t) steps is on a cycle
    lookup = Rows(t)
    cur = lookup.find(t.text["fiscal_year"], t.text["department"], parent)
    steps = 0
    while (cur >= 0).any() and steps < 64:
        nxt = np.full(len(cur), -1)
        live = cur >= 0
        nxt[live] = lookup.find(t.text["fiscal_year"].to_numpy()[cur[live]], t.text["department"].to_numpy()[cur[live]],
                                parent.to_numpy()[cur[live]])
        cur = nxt
        steps += 1
    for r in np.flatnonzero(cur >= 0):
        report.add(t.path, int(t.lines[r]), "parent_unit_id",
                   "the parent_unit_id chain of this unit never reaches a root (cycle)")


def fiscal(fy, dept) -> str:
    return f"{dept} {fy}"


def sources_match(tables: dict[str, Table], report: Report) -> None:
    """A fact row cites the report of its own fiscal year and department."""
    src = tables.get("sources")
    if src is None:
        return
    ids = as_arrow(src.text["source_id"])
    scope = src.scope()
    owner = join_keys(*[src.text[c] for c in scope])
    for t in tables.values():
        if t is src or "source_id" not in t.fields or not set(scope) <= set(t.scope()):
            continue
        theirs = owner.take(pc.index_in(as_arrow(t.text["source_id"]), value_set=ids))  # null: unknown source
        mine = join_keys(*[t.text[c] for c in scope])
        bad = pc.fill_null(pc.not_equal(theirs, mine), False).to_numpy(zero_copy_only=False)
        for r in np.flatnonzero(bad):
            s_fy, s_dept = theirs[int(r)].as_py().split("\x1f")
            report.add(t.path, int(t.lines[r]), "source_id",
                       f"source {t.col('source_id')[r]} is the report of {fiscal(s_fy, s_dept)}, not of "
                       f"{fiscal(t.col('fiscal_year')[r], t.col('department')[r])}", col_no=t.col_no("source_id"))


def trips_vs_count(trips: Table | None, counts: Table | None, report: Report) -> None:
    """The overseas_delegations count equals the number of overseas_trips rows."""
    if trips is None or counts is None:
        return
    n = pd.DataFrame({"fy": trips.text["fiscal_year"], "dept": trips.text["department"]}).value_counts()
    rows = np.flatnonzero((counts.text["count_id"] == "overseas_delegations").to_numpy() & counts.usable("value"))
    for r in rows:
        fy, dept = counts.col("fiscal_year")[r], counts.col("department")[r]
        listed = int(n.get((fy, dept), 0))
        value = int(counts.typed["value"].iat[r])
        if listed and listed != value:
            report.add(counts.path, int(counts.lines[r]), "value",
                       f"overseas_delegations is {value} but overseas_trips lists {listed} trips for "
                       f"{fiscal(fy, dept)}",
                       col_no=counts.col_no("value"))


def ordinals(t: Table, report: Report) -> None:
    """An ordinal of the primary key (row_no, trip_no, term_no: role ordinal) numbers the rows
    1..n within the rest of the key, so a renumbered row cannot pass unnoticed."""
    for col in roles.with_role(t.schema, "ordinal"):
        if col not in t.pk or t.type_of(col) != "integer":
            continue
        rest = [c for c in t.pk if c != col]
        ok = t.usable(col)
        frame = t.text.loc[ok, rest].copy()
        frame["n"] = pd.to_numeric(t.text.loc[ok, col], errors="coerce")
        size = frame.groupby(rest, sort=False)["n"].transform("size")
        over = (frame["n"] > size).to_numpy()
        for r, n_rows in zip(np.flatnonzero(ok)[over], size.to_numpy()[over], strict=False):
            report.add(t.path, int(t.lines[r]), col, f"{col} {t.col(col)[r]} but its group has {n_rows} rows: "
                       f"{col} numbers them 1..n", col_no=t.col_no(col))


# ---------------------------------------------------------------- errata


def errata_references(errata: Table, tables: dict[str, Table], known: set[str], report: Report) -> None:
    """Each erratum names an existing resource, column and row, and carries that cell's value."""
    resources, columns, keys = errata.col("resource"), errata.col("column"), errata.col("row_key")
    carried = errata.dec("value_carried")

    def add(r, column, message):
        report.add(errata.path, int(errata.lines[r]), column, message, col_no=errata.col_no(column))

    for res in pd.unique(resources):
        mine = np.flatnonzero(resources == res)
        t = tables.get(res)
        if t is None:
            if res not in known:
                for r in mine:
                    add(r, "resource", f"`{res}` is not a resource of the package")
            continue
        if set(t.scope()) != set(errata.scope()):
            continue  # rows not named within a department-year (departments, classification)
        pos = Rows(t).find(errata.col("fiscal_year")[mine], errata.col("department")[mine], keys[mine])
        known_col = np.isin(columns[mine], list(t.fields))
        for r in mine[~known_col]:
            add(r, "column", f"`{columns[r]}` is not a column of {res}")
        for r in mine[known_col & (pos < 0)]:
            add(r, "row_key", f"no row `{keys[r]}` in {res} for "
                              f"{fiscal(errata.col('fiscal_year')[r], errata.col('department')[r])}")
        for col in pd.unique(columns[mine][known_col]):
            if t.type_of(col) not in ("number", "integer"):
                continue
            sel = (columns[mine] == col) & (pos >= 0)
            sel[sel] &= t.usable(col)[pos[sel]] & ~pd.isna(carried[mine[sel]])
            rows, at = mine[sel], pos[sel]
            differ = (_objs(t.dec(col)[at]) != _objs(carried[rows])).astype(bool)
            for r, p in zip(rows[differ], at[differ], strict=False):
                add(r, "value_carried", f"value_carried {errata.col('value_carried')[r]} but {t.path} line "
                                        f"{int(t.lines[p])} has {col} = {t.col(col)[p]}")


def apply_errata(breaks: list[Break], errata: Table | None, report: Report) -> None:
    """Breaks an erratum explains become known; the others are problems; unused errata are stale."""
    if errata is None:
        for b in breaks:
            p = b.problem()
            report.add(p.path, p.line, p.column, p.message, col_no=p.col_no)
        return
    index: dict[tuple, list[int]] = {}
    for r in range(len(errata)):
        check = errata.col("check")[r]
        if check in ("none", ""):
            continue
        k = (check, errata.col("fiscal_year")[r], errata.col("department")[r],
             errata.col("resource")[r], errata.col("row_key")[r])
        index.setdefault(k, []).append(r)
    used: set[int] = set()
    for b in breaks:
        match = None
        for res, key in sorted(b.keys):
            for r in index.get((b.check, b.fy, b.dept, res, key), []):
                if errata.col("column")[r] in b.columns:
                    match = r if match is None else match
                    used.add(r)
        p = b.problem()
        if match is None:
            report.add(p.path, p.line, p.column, p.message, col_no=p.col_no)
        else:
            p.erratum = errata.col("erratum_id")[match]
            p.message = known_message(p.message, p.erratum)
            report.add_known(p)
    for rows in index.values():
        for r in rows:
            if r not in used:
                c = {k: errata.col(k)[r] for k in ("erratum_id", "check", "resource", "row_key", "column")}
                report.add(errata.path, int(errata.lines[r]), "check",
                           f"stale erratum {c['erratum_id']}: no {c['check']} break at {c['resource']} "
                           f"`{c['row_key']}` ({c['column']}) any more; update or remove it",
                           col_no=errata.col_no("check"))


def summary_checks(t: Table, tables: dict[str, Table]) -> list[Break]:
    return summary_shares(t) + changes(t)


def function_checks(t: Table, tables: dict[str, Table]) -> list[Break]:
    return function_vs_type(t, tables.get("expenditure_by_type"))


def project_checks(t: Table, tables: dict[str, Table]) -> list[Break]:
    return projects(t)


# resource -> the identities of its own (besides parts adding up to their parent, which every
# resource with a parent column and a figure gets: `parts_of_parents`)
TABLE_CHECKS = {
    "income": [summary_checks],
    "expenditure_by_type": [summary_checks],
    "three_public_expenses": [summary_checks],
    "expenditure_by_function": [function_checks],
    "projects": [project_checks],
}
# The parts of one parent add up per value of this column, when a resource has it (income's
# breakdown: by source, by kind).
PARTS_GROUP = "breakdown"


def parts_of_parents(t: Table) -> list[Break]:
    """Parts add up to their parent, for each self-referencing parent column of the schema, over
    its main figure (roles.parent_links, roles.main_figure)."""
    value = roles.main_figure(t.schema)
    if value is None:
        return []
    group = PARTS_GROUP if PARTS_GROUP in t.fields else None
    return [b for parent, _ in roles.parent_links(t.schema) for b in parts_sum(t, parent, value, group)]


def table_breaks(tables: dict[str, Table]) -> list[Break]:
    breaks: list[Break] = []
    for t in tables.values():
        breaks += parts_of_parents(t)
        for check in TABLE_CHECKS.get(t.name, []):
            breaks += check(t, tables)
    return breaks


def check_identities(tables: dict[str, Table], known: set[str], report: Report) -> list[Break]:
    breaks = table_breaks(tables)
    if tables.get("organisation") is not None:
        organisation(tables["organisation"], report)
    sources_match(tables, report)
    for t in tables.values():
        ordinals(t, report)
    trips_vs_count(tables.get("overseas_trips"), tables.get("three_public_expenses_counts"), report)
    errata = tables.get("errata")
    if errata is not None:
        errata_references(errata, tables, known, report)
    apply_errata(breaks, errata, report)
    return breaks
