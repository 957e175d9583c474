"""Check (d) as SQL: the accounting identities of checks/identities.py, exact (DECIMAL), and the
errata that explain the breaks of the source itself, matched in SQL too (at N = 100,000 the
errata table has 900,000 rows: it stays in the engine).

Each break query returns one row per (break, key an erratum may name):

    kind, check, resource, rn, col, fiscal_year, department, cols, kres, kkey, m1, m2, m3, m4

``cols`` (",a,b,") are the columns an erratum may name, m1..m4 what the message shows; the
message itself is worded in Python (messages of checks/identities.py) for the failing rows only.
"""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from functools import lru_cache

from ...model import roles
from ...model.problems import Problem, Report, known_message, shown
from ...model.descriptor import as_list
from ..identities import PARTS_GROUP, TABLE_CHECKS, fiscal, fmt, rate_text
from .definitions import DECIMAL, TYPE_CHECKED, lit, q, usable, view
from .sources_sql import source_differs, source_pairs

FIELDS = "kind, chk, res, rn, col, fy, dept, cols, kres, kkey, m1, m2, m3, m4"


def mark_type_checked(loaded: dict) -> None:
    """Each loaded resource's schema becomes a copy whose fields that no cell failed the type
    check of (t.failed: what the load's masks found) are marked TYPE_CHECKED: a non-empty cell
    of such a column is of its type, and the row checks after the load (identities, errata,
    provenance, frames) test it for a value only, not with a regular expression on every row
    again (N = 10,000: a quarter of the identities' CPU). A column that fails somewhere keeps
    the full test, so a bad cell is still left out of a sum as the pandas validator does."""
    for t in loaded.values():
        failing = {c.column for c in t.failed if c.kind == "type"}
        fields = [dict(f, **{TYPE_CHECKED: True}) if f["name"] not in failing else f for f in t.schema["fields"]]
        t.schema = {**t.schema, "fields": fields}


def _key(schema: dict, alias: str) -> str:
    """SQL: the row key errata use (roles.row_key: key fields joined by |)."""
    fields = roles.row_key_fields(schema)
    return f" || {lit(roles.ROW_KEY_SEPARATOR)} || ".join(f"{alias}.{q(f)}" for f in fields)


def _num(schema: dict, alias: str, col: str) -> str:
    """SQL: the exact value of a number cell, NULL when empty or not a number."""
    field = {f["name"]: f for f in schema["fields"]}[col]
    return f"(case when {usable(field, alias + '.' + q(col))} then cast({alias}.{q(col)} as {DECIMAL}) end)"


def _row(kind, chk, res, rn, col, cols, kres, kkey, m=("''", "''", "''", "''"), alias="p") -> str:
    cols_text = lit("," + ",".join(cols) + ",")
    ms = ", ".join(f"cast({x} as VARCHAR) as m{i + 1}" for i, x in enumerate(m))
    return (f"select {lit(kind)} as kind, {lit(chk)} as chk, {lit(res)} as res, {rn} as rn, {lit(col)} as col, "
            f"{alias}.fiscal_year as fy, {alias}.department as dept, {cols_text} as cols, {kres} as kres, "
            f"{kkey} as kkey, {ms}")


def parts_sum(name: str, schema: dict, parent: str, value: str, group: str | None) -> str:
    """Parts of each (fiscal year, department, parent, group) add up to the parent's value; a
    parent derived as sum(children) is left to the derivation check."""
    t = view(name)
    key_c, key_p = _key(schema, "c"), _key(schema, "p")
    grp = f"c.{q(group)}" if group else "''"
    ok = usable({f["name"]: f for f in schema["fields"]}[value], f"c.{q(value)}")
    g = (f"select c.fiscal_year, c.department, c.{q(parent)} as par, {grp} as grp, "
         f"sum(case when {ok} then cast(c.{q(value)} as {DECIMAL}) end) as total, "
         f"min(case when {ok} then 1 else 0 end) as allok, count(*) as n "
         f"from {t} c where c.{q(parent)} <> '' group by c.fiscal_year, c.department, c.{q(parent)}, {grp}")
    sum_of_children = "(p.derived = 'true' and trim(p.derivation) = 'sum(children)')" if "derivation" in {
        f["name"] for f in schema["fields"]} else "false"
    brk = (f"select p.rn, p.fiscal_year, p.department, g.par, g.grp, g.total, g.n, p.{q(value)} as v, {key_p} as pkey "
           f"from ({g}) g join {t} p on p.fiscal_year = g.fiscal_year and p.department = g.department "
           f"and {key_p} = g.par where g.allok = 1 and {_num(schema, 'p', value)} is not null "
           f"and not {sum_of_children} and g.total <> {_num(schema, 'p', value)}")
    members_of = (f"c.fiscal_year = p.fiscal_year and c.department = p.department and c.{q(parent)} = p.par"
                  + (f" and c.{q(group)} = p.grp" if group else ""))
    # the parts written out for the message: for the groups that break only (string_agg over
    # every group cost as much as the sums)
    listed = (f"select p.rn, p.fiscal_year, p.department, p.par, p.grp, p.total, p.n, p.v, p.pkey, "
              f"string_agg({key_c} || ' ' || c.{q(value)}, ' + ' order by c.rn) as parts from brk0 p join {t} c "
              f"on {members_of} group by p.rn, p.fiscal_year, p.department, p.par, p.grp, p.total, p.n, p.v, p.pkey")
    m = ("p.par", "p.grp", "p.total", "cast(p.n as VARCHAR) || chr(31) || p.parts || chr(31) || p.v")
    parent_key = _row("parts_sum", "parts_sum", name, "p.rn", value, [value], lit(name), "p.pkey", m)
    members = (_row("parts_sum", "parts_sum", name, "p.rn", value, [value], lit(name), key_c, m)
               + f" from brk p join {t} c on {members_of}")
    # one name per resource: SQLGlot hoists CTEs to the top for Spark
    cte0, cte = q("brk0_" + name), q("brk_" + name)
    return (f"select * from (with {cte0} as ({brk}), {cte} as ({listed.replace(' from brk0 p', f' from {cte0} p')}) "
            f"{parent_key} from {cte} p union all {members.replace(' from brk p join', f' from {cte} p join')}) s")


def _rate(printed: str, printed_text: str, part: str, base: str) -> str:
    """SQL: `printed` is part / base * 100 rounded half up to the decimals of its text, with the
    sign of part (checks/identities.py rate_ok, no division: h = half a unit of the last decimal)."""
    h = f"cast('0.' || repeat('0', length(split_part({printed_text}, '.', 2))) || '5' as {DECIMAL})"
    return (f"((abs({printed}) - {h}) * {base} <= abs({part}) * 100 and abs({part}) * 100 < (abs({printed}) + {h}) * {base} "
            f"and ({printed} = 0 or (({part}) < 0) = (({printed}) < 0)))")


def _computed(alias: str, rows_from: str, values: dict[str, str], cond: str = "true") -> str:
    """SQL of a FROM item: the rows of `rows_from` (where `cond`), `alias`'s columns and each of
    `values` computed once a row as column __<name>, for a filter that compares them: DuckDB
    evaluates each repeated cast of a filter again (N = 10,000: half the CPU of the rate checks)."""
    computed = "".join(f", {sql} as __{name}" for name, sql in values.items())
    return f"(select {alias}.*{computed} from {rows_from} where {cond}) {alias}"


def _rate_break(name, schema, chk, pct, part, base, rows_from, cols, formula, cond="true", alias="p",
                shown=("''", "''")) -> str:
    """Rows whose printed pct is not part / base * 100 (part, base, pct known; base > 0). shown:
    SQL of the texts the message prints for part and base, as the pandas validator does (a cell
    as printed, 391.50), '' where it prints the computed value (fmt)."""
    values = _computed(alias, rows_from, {"pct": _num(schema, alias, pct), "part": part, "base": base}, cond)
    pct_v, part, base = (f"{alias}.__{v}" for v in ("pct", "part", "base"))
    m = (f"{alias}.{q(pct)}", part, base, f"{formula} || chr(31) || {shown[0]} || chr(31) || {shown[1]}")
    return (_row("rate", chk, name, f"{alias}.rn", pct, [pct, *cols], lit(name), _key(schema, alias), m, alias)
            + f" from {values} where {pct_v} is not null and {part} is not null and {base} is not null "
              f"and {base} > 0 and not {_rate(pct_v, f'{alias}.{q(pct)}', part, base)}")


def summary_shares(name: str, schema: dict) -> list[str]:
    t = view(name)
    base = _num(schema, "b", "amount")
    rows = (f"{t} p left join {t} b on b.fiscal_year = p.fiscal_year and b.department = p.department "
            f"and b.item_id = p.parent_item_id")
    found = _rate_break(name, schema, "share", "share_pct", _num(schema, "p", "amount"), base,
                        rows, ["amount"], "'parent amount'", cond="b.rn is not null", shown=("p.amount", "''"))
    orphan = (_row("no_parent_share", "share", name, "p.rn", "share_pct", ["share_pct"], lit(name), _key(schema, "p"))
              + f" from {t} p where p.share_pct <> '' and p.parent_item_id = ''")
    return [found, orphan]


def changes(name: str, schema: dict) -> list[str]:
    t = view(name)
    figures = ("amount", "prior_year_amount", "change_amount")
    amount, prior, change = (_num(schema, "p", c) for c in figures)
    cols = ["prior_year_amount", "change_amount"]
    a, pr, c = (f"p.__{n}" for n in figures)
    m = ("p.prior_year_amount", "p.amount", "p.change_amount", f"{a} - {c}")
    values = _computed("p", f"{t} p", {n: _num(schema, "p", n) for n in figures})
    prior_break = (_row("prior", "change", name, "p.rn", "prior_year_amount", cols, lit(name), _key(schema, "p"), m)
                   + f" from {values} where {a} is not null and {pr} is not null and {c} is not null "
                     f"and {a} - {c} <> {pr}")
    base = f"coalesce({prior}, {amount} - {change})"
    part = f"coalesce({change}, {amount} - {prior})"
    rate = _rate_break(name, schema, "change", "change_pct", part, base, f"{t} p", ["change_amount"],
                       "'change'")
    return [prior_break, rate]


def function_vs_type(ebf: dict, ebt: dict) -> list[str]:
    f, t = view("expenditure_by_function"), view("expenditure_by_type")
    gpb = (f"{t} g on g.fiscal_year = p.fiscal_year and g.department = p.department and g.item_id = 'gpb_total'")
    missing = (_row("no_gpb", "parts_sum", "expenditure_by_function", "p.rn", "amount", [], "''", "''")
               + f" from {f} p left join {gpb} where p.level = '1' and g.rn is null "
                 f"and p.rn = (select min(x.rn) from {f} x left join {t} y on y.fiscal_year = x.fiscal_year "
                 f"and y.department = x.department and y.item_id = 'gpb_total' where x.level = '1' and y.rn is null)")
    amount = _num(ebf, "c", "amount")
    level1 = "c.fiscal_year = p.fiscal_year and c.department = p.department and c.level = '1'"
    sums = (f"select c.fiscal_year, c.department, sum({amount}) as total, min(case when {amount} is null then 0 else 1 end) as allok, "
            f"count(*) as n from {f} c where c.level = '1' group by c.fiscal_year, c.department")
    brk = (f"select p.rn, p.fiscal_year, p.department, s.total, s.n, p.amount as v from ({sums}) s join {t} p "
           f"on p.fiscal_year = s.fiscal_year and p.department = s.department and p.item_id = 'gpb_total' "
           f"where s.allok = 1 and {_num(ebt, 'p', 'amount')} is not null and s.total <> {_num(ebt, 'p', 'amount')}")
    # the parts written out for the breaks only (string_agg over every department-year cost
    # twice the sums)
    listed = (f"select p.rn, p.fiscal_year, p.department, p.total, p.n, p.v, "
              f"string_agg(c.code || ' ' || c.amount, ' + ' order by c.rn) as parts from gpb_brk0 p join {f} c "
              f"on {level1} group by p.rn, p.fiscal_year, p.department, p.total, p.n, p.v")
    m = ("''", "''", "p.total", "cast(p.n as VARCHAR) || chr(31) || p.parts || chr(31) || p.v")
    own = _row("gpb_parts", "parts_sum", "expenditure_by_type", "p.rn", "amount", ["amount"],
               "'expenditure_by_type'", "'gpb_total'", m) + " from gpb_brk p"
    members = (_row("gpb_parts", "parts_sum", "expenditure_by_type", "p.rn", "amount", ["amount"],
                    "'expenditure_by_function'", "c.code", m) + f" from gpb_brk p join {f} c on {level1}")
    gpb_parts = (f"select * from (with gpb_brk0 as ({brk}), gpb_brk as ({listed}) "
                 f"{own} union all {members}) s")
    share = _rate_break("expenditure_by_function", ebf, "share", "share_pct", _num(ebf, "p", "amount"),
                        _num(ebt, "g", "amount"), f"{f} p join {gpb}", ["amount"], "'gpb_total'",
                        shown=("p.amount", "''"))
    return [missing, gpb_parts, share]


def projects(schema: dict) -> list[str]:
    t = view("projects")
    out = []
    for total, a, b in (("budget", "budget_fiscal", "budget_other"), ("executed", "executed_fiscal", "executed_other")):
        values = _computed("p", f"{t} p", {c: _num(schema, "p", c) for c in (total, a, b)})
        w, x, y = (f"p.__{c}" for c in (total, a, b))
        m = (lit(a + "|" + b), f"p.{a} || chr(31) || p.{b}", f"{x} + {y}", f"p.{total}")
        out.append(_row("fiscal_plus_other", "fiscal_plus_other", "projects", "p.rn", total, [total, a, b],
                        "'projects'", _key(schema, "p"), m)
                   + f" from {values} where {w} is not null and {x} is not null and {y} is not null and {x} + {y} <> {w}")
    out.append(_rate_break("projects", schema, "completion_rate", "completion_pct", _num(schema, "p", "executed"),
                           _num(schema, "p", "budget"), f"{t} p", ["executed", "budget"], "'completion'",
                           shown=("p.executed", "p.budget")))
    return out


def _summary(name: str, schemas: dict) -> list[str]:
    return summary_shares(name, schemas[name]) + changes(name, schemas[name])


def _function(name: str, schemas: dict) -> list[str]:
    if "expenditure_by_type" not in schemas:
        return []
    return function_vs_type(schemas[name], schemas["expenditure_by_type"])


def _projects(name: str, schemas: dict) -> list[str]:
    return projects(schemas[name])


# the SQL of each per-resource identity of checks/identities.py TABLE_CHECKS (which resource
# gets which identity is decided there, once)
SQL_OF = {"summary_checks": _summary, "function_checks": _function, "project_checks": _projects}


def break_queries(schemas: dict[str, dict]) -> list[str]:
    out = []
    for name, schema in schemas.items():
        value = roles.main_figure(schema)
        group = PARTS_GROUP if PARTS_GROUP in {f["name"] for f in schema["fields"]} else None
        if value is not None:
            out += [parts_sum(name, schema, parent, value, group) for parent, _ in roles.parent_links(schema)]
        for check in TABLE_CHECKS.get(name, []):
            out += SQL_OF[check.__name__](name, schemas)
    return out


def matched_sql(breaks: str, with_errata: bool) -> tuple[str, str | None]:
    """(each break with the first erratum that explains it, or NULL; errata no break uses)."""
    if not with_errata:
        return (f"select kind, chk, res, rn, col, m1, m2, m3, m4, min(q) as q, cast(null as VARCHAR) as erratum "
                f"from ({breaks}) b group by kind, chk, res, rn, col, m1, m2, m3, m4"), None
    e = (f"select rn as ern, erratum_id, {q('check')} as echk, fiscal_year as efy, department as edept, "
         f"resource as eres, row_key as ekey, {q('column')} as ecol from {view('errata')} "
         f"where {q('check')} not in ('none', '')")
    on = ("e.echk = b.chk and e.efy = b.fy and e.edept = b.dept and e.eres = b.kres and e.ekey = b.kkey "
          "and instr(b.cols, ',' || e.ecol || ',') > 0")
    matched = (f"select b.kind, b.chk, b.res, b.rn, b.col, b.m1, b.m2, b.m3, b.m4, min(b.q) as q, "
               f"min(e.erratum_id) as erratum "
               f"from ({breaks}) b left join ({e}) e on {on} group by b.kind, b.chk, b.res, b.rn, b.col, b.m1, b.m2, b.m3, b.m4")
    stale = (f"select e.ern, e.erratum_id, e.echk, e.eres, e.ekey, e.ecol from ({e}) e "
             f"anti join ({breaks}) b on {on}")
    return matched, stale


# ---------------------------------------------------------------- messages (failing rows only)


def _parts(m4: str) -> tuple[int, str, str]:
    n, parts, value = m4.split("\x1f")
    return int(n), parts, value


def message(kind: str, col: str, m1: str, m2: str, m3: str, m4: str) -> str:
    if kind == "parts_sum":
        n, parts, value = _parts(m4)
        shown = f"{n} parts" if n > 8 else parts
        group = f"{m2} " if m2 else ""
        return (f"parts do not add up: the {group}parts of `{m1}` sum to {fmt(Decimal(m3))} ({shown}), "
                f"the row has {value}")
    if kind == "gpb_parts":
        n, parts, value = _parts(m4)
        shown = f"{n} parts" if n > 8 else parts
        return f"expenditure_by_function 类 rows sum to {fmt(Decimal(m3))} ({shown}), gpb_total has {value}"
    if kind == "no_gpb":
        return ("no expenditure_by_type row `gpb_total` for this fiscal year and department: the 类 rows "
                "have nothing to add up to")
    if kind == "no_parent_share":
        return "share_pct given on a row without parent_item_id: a share of what?"
    if kind == "prior":
        amount_minus_change = fmt(Decimal(m4))
        return (f"prior_year_amount {m1} is not amount - change_amount = {m2} - ({m3}) = {amount_minus_change}")
    if kind == "fiscal_plus_other":
        a, b = m1.split("|")
        va, vb = m2.split("\x1f")
        return f"{a} + {b} = {va} + {vb} = {fmt(Decimal(m3))}, but {col} is {m4}"
    if kind == "rate":
        return _rate_message(col, m1, Decimal(m2), Decimal(m3), m4)
    return f"{kind}: {m1} {m2} {m3} {m4}"


def _rate_message(col: str, printed: str, part: Decimal, base: Decimal, shown: str) -> str:
    d = len(printed.partition(".")[2])
    what, part_text, base_text = shown.split("\x1f")
    division = f"{part_text or fmt(part)} / {base_text or fmt(base)}"
    formula = {"parent amount": f"amount / parent amount * 100 = {division}",
               "gpb_total": f"amount / gpb_total * 100 = {division}",
               "change": f"change / prior-year amount * 100 = {division}",
               "completion": f"executed / budget * 100 = {division}"}[what]
    return f"{col} {printed} does not match {formula} * 100 = {rate_text(part, base, d)}"


def check_identities(engine, loaded: dict, report: Report, order: dict[str, int] | None = None) -> None:
    """The breaks nothing explains become problems; the known errata stay in the engine (table
    known_errata, numbered in output order) and report.known streams them (KnownErrata)."""
    schemas = {name: t.schema for name, t in loaded.items()}
    queries = break_queries(schemas)
    if not queries:
        return
    # q: which query found the break, so that breaks on one line come in the pandas validator's
    # check order (TABLE_CHECKS), whatever order the engine returns them in
    engine.materialize("breaks", " union all ".join(f"select {FIELDS}, {i} as q from ({sql}) x{i}"
                                                    for i, sql in enumerate(queries)))
    matched, stale = matched_sql("select * from breaks", "errata" in loaded)
    engine.materialize("matched_breaks", matched)
    problems = engine.query("select res, rn, col, kind, m1, m2, m3, m4 from matched_breaks where erratum is null "
                            "order by res, rn, q, col, kind, m1, m2, m3, m4")  # report.sorted() keeps this within a line
    for res, items in _by_resource(problems).items():
        t = loaded[res]
        for (_res, _rn, col, *m), line in zip(items, t.lines.of([r[1] for r in items])):
            report.add(t.rel, line, col, message(m[0], col, *(x or "" for x in m[1:])), col_no=t.col_no(col))
    report.known = KnownErrata(engine, loaded, order or {})
    if stale is not None:
        errata = loaded["errata"]
        found = engine.query(stale)
        for (_ern, eid, chk, res, key, col), line in zip(found, errata.lines.of([r[0] for r in found])):
            report.add(errata.rel, line, "check",
                       f"stale erratum {eid}: no {chk} break at {res} `{key}` ({col}) any more; update or remove it",
                       col_no=errata.col_no("check"))


def _by_resource(rows) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out


class KnownErrata:
    """The errata-covered breaks, as Problems in the validator's output order (file, line, then
    check), read from the engine a page at a time: Python holds one page, never all of them (at
    N = 100,000 they are 500,000). Iterate it while the engine is open (engines.checked); each
    iteration reads them again, and engines.collect() makes a list of them for callers that keep
    the result. render() words them all ahead into a temporary file, which write_to() copies."""

    PAGE = 10000

    def __init__(self, engine, loaded: dict, order: dict[str, int]):
        self.engine, self.loaded = engine, loaded
        self._rendered = None  # the output lines, worded by render()
        by_file = sorted(loaded.values(), key=lambda t: (order.get(t.rel, len(order)), t.rel))
        file_no = " ".join(f"when {lit(t.name)} then {i}" for i, t in enumerate(by_file))
        # numbered once in output order (1..n), then read a page at a time by that number
        engine.materialize("known_errata", (
            f"select row_number() over (order by case res {file_no} end, rn, q, col, kind, m1, m2, m3, m4, erratum) as k, "
            f"res, rn, col, kind, m1, m2, m3, m4, erratum from matched_breaks where erratum is not null"))
        self.count = int(engine.query("select count(*) from known_errata")[0][0])
        self._col_no: dict[tuple[str, str], int | None] = {}

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        for page in self._pages():
            yield from self._problems(page)

    def _pages(self):
        """The known errata a page at a time, each row (res, line, col, words, erratum)."""
        for start in range(0, self.count, self.PAGE):
            page = self.engine.query(f"select res, rn, col, kind, m1, m2, m3, m4, erratum from known_errata "
                                     f"where k > {start} and k <= {start + self.PAGE} order by k")
            lines = {res: iter(self.loaded[res].lines.of([r[1] for r in items]))
                     for res, items in _by_resource(page).items()}
            yield [(res, next(lines[res]), col, _worded(kind, col, m1 or "", m2 or "", m3 or "", m4 or ""), erratum)
                   for res, _rn, col, kind, m1, m2, m3, m4, erratum in page]

    def render(self) -> None:
        """Word every known erratum now, the output's lines (``known: …``) into an unnamed
        temporary file: the engines' checks do it in one lane while the other lane's queries
        run (engines.lanes), and the output then copies the file (N = 10,000: 0.5 s CPU of
        Python taken out of the serial end of the run; a page at a time, so memory stays flat).
        The lines are made without a Problem each (N = 10,000: about 0.02 s CPU less, at the
        end of its lane)."""
        out = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")
        rel = {name: t.rel for name, t in self.loaded.items()}
        for page in self._pages():
            out.write("".join(f"known: {shown(rel[res], line, col, known_message(text, erratum))}\n"
                              for res, line, col, text, erratum in page))
        self._rendered = out

    def write_to(self, stream) -> None:
        """The output's line of each known erratum, in order, onto the text stream."""
        if self._rendered is None:
            self.render()
        self._rendered.seek(0)
        shutil.copyfileobj(self._rendered, stream)

    def _problems(self, page: list[tuple]):
        for res, line, col, text, erratum in page:
            t = self.loaded[res]
            if (res, col) not in self._col_no:
                self._col_no[res, col] = t.col_no(col)
            yield Problem(t.rel, line, col, known_message(text, erratum), self._col_no[res, col], erratum)


# errata of one kind repeat their figures across department-years: each distinct message worded
# once (bounded, so memory stays flat however many there are)
_worded = lru_cache(maxsize=1 << 14)(message)


# ---------------------------------------------------------------- ordinals, sources of rows


def ordinal_checks(schemas: dict[str, dict]) -> list[tuple[str, str]]:
    """(resource, sql): an ordinal of the primary key (row_no, trip_no: role ordinal) numbers the
    rows 1..n within the rest of the key (checks/identities.py ordinals)."""
    out = []
    for name, schema in schemas.items():
        fields = {f["name"]: f for f in schema["fields"]}
        pk = as_list(schema.get("primaryKey"))
        for col in roles.with_role(schema, "ordinal"):
            if col not in pk or fields[col].get("type") != "integer":
                continue
            out.append((name, _ordinal_sql(name, col, [c for c in pk if c != col], usable(fields[col], "t." + q(col)))))
    return out


def _ordinal_sql(name: str, col: str, rest: list[str], ok: str) -> str:
    """Rows whose ordinal exceeds the size of its group: the groups counted by an aggregate (no
    window, which sorts every row), joined back to their rows only where some row exceeds it."""
    n = f"try_cast(t.{q(col)} as BIGINT)"
    groups = (f"select {''.join(f't.{q(c)}, ' for c in rest)}count(*) as size from {view(name)} t where {ok}"
              + (f" group by {', '.join(f't.{q(c)}' for c in rest)}" if rest else "") + f" having max({n}) > count(*)")
    on = " and ".join(f"g.{q(c)} = t.{q(c)}" for c in rest) or "true"
    return (f"select t.rn, {lit(col)} as col, t.{q(col)} as v, cast(g.size as VARCHAR) as x "
            f"from {view(name)} t join ({groups}) g on {on} where {ok} and {n} > g.size")


def source_checks(schemas: dict[str, dict]) -> list[tuple[str, str]]:
    """(resource, sql): a fact row cites the report of its own department-year."""
    out = []
    for name in schemas:
        if (differs := source_differs(schemas, name)) is None:
            continue
        scope = roles.scope(schemas["sources"])
        shown = " || chr(31) || ".join([f"s.{q(c)}" for c in scope] + [f"t.{q(c)}" for c in scope])
        out.append((name, f"select t.rn, 'source_id' as col, t.source_id as v, {shown} as x from {view(name)} t "
                          f"join (select source_id, {', '.join(q(c) for c in scope)}, "
                          f"row_number() over (partition by source_id order by rn) as k from {view('sources')}) s "
                          f"on s.source_id = t.source_id and s.k = 1 where {differs}"))
    return out


def failing_rows(engine, checks: list[tuple[str, str, str]], loaded: dict):
    """Checks (kind, resource, sql returning rn, col, v, x) in one query (x0 = which check):
    (kind, table, its failing rows in row order, their lines), in check order."""
    sql = " union all ".join(f"select {i} as x0, rn, col, v, x from ({c[2]}) s{i}" for i, c in enumerate(checks))
    found: dict[int, list] = {}
    for i, rn, col, v, x in engine.query(sql):
        found.setdefault(i, []).append((rn, col, v, x))
    for i in sorted(found):
        kind, res, _ = checks[i]
        t, rows = loaded[res], sorted(found[i])
        yield kind, t, rows, t.lines.of([r[0] for r in rows])


def check_rows(engine, loaded: dict, report: Report) -> None:
    schemas = {name: t.schema for name, t in loaded.items()}
    agree = {res for res, differs in source_pairs(engine, loaded).items() if not differs}  # no row differs
    checks = [("ordinal", *c) for c in ordinal_checks(schemas)] + [
        ("source", *c) for c in source_checks(schemas) if c[0] not in agree]
    if not checks:
        return
    for kind, t, rows, lines in failing_rows(engine, checks, loaded):
        scope = roles.scope(schemas["sources"]) if kind == "source" else []
        for (_rn, col, v, x), line in zip(rows, lines, strict=True):
            if kind == "ordinal":
                text = f"{col} {v} but its group has {x} rows: {col} numbers them 1..n"
            else:
                values = x.split("\x1f")
                theirs, mine = dict(zip(scope, values[:len(scope)])), dict(zip(scope, values[len(scope):]))
                text = (f"source {v} is the report of {fiscal(theirs['fiscal_year'], theirs['department'])}, "
                        f"not of {fiscal(mine['fiscal_year'], mine['department'])}")
            report.add(t.rel, line, col, text, col_no=t.col_no(col))
