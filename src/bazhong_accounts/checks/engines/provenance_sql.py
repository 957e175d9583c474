"""Provenance (checks/provenance.py) on the SQL engines: archived sources and their SHA-256,
quotes verbatim in the archived text, the figures of a non-derived row in its quote, an
erratum's figures in its quotes and the same numbers in its two explanations.

The few archived files are read and hashed in Python once each, and each UTF-8 text becomes one
row of a small engine table (ARCHIVE: path, digest, problem, text). The per-row work is SQL: the
sources rows joined to their file, and each resource's distinct (source, quote) pairs split into
excerpts and looked up in the text (contains). What needs Python's text handling (numbers
printed in a quote: full-width digits, Chinese numerals) runs on the distinct (quote, figure)
pairs the engine returns, with provenance.py's own tokeniser, and the failing pairs are joined
back to their rows in SQL. Messages are provenance.py's; derivations are not covered yet.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ...model import roles
from ...model.problems import Report
from ...model.table import as_arrow
from ..figure_sources import archived_file, with_chinese_numerals
from ..identities import PARTS_GROUP, fmt
from ..provenance import (EXPLANATIONS, SEP, _normalise_numbers, _parse_rule, _quote_tokens, explanations_problem,
                          figure_in_quote, quote_problem)
from .definitions import DECIMAL, lit, q, usable, view
from .identities import _key
from .sources_sql import PAIRS, SOURCES, pairs_sql, quoted, source_pairs

ARCHIVE = "archive_files"
ERRATA_QUOTES = {"value_carried": "quote_carried", "value_other": "quote_other"}  # an erratum's figure: its quote


# ---------------------------------------------------------------- the archived files (Python)


def load_archive(engine, root: Path) -> dict[str, str]:
    """Each file the sources name, checked and hashed once, into the engine table ARCHIVE;
    returns path -> text of those that are UTF-8."""
    texts, rows = {}, []
    for (rel,) in engine.query(f"select distinct path from {view(SOURCES)}"):
        problem, digest, text = archived_file(root, rel)
        rows.append(f"({lit(rel)}, {lit(problem)}, {lit(digest)}, {lit(text or '')})")
        if text is not None:
            texts[rel] = text
    if rows:
        engine.materialize(ARCHIVE, f"select * from (values {', '.join(rows)}) as a(path, problem, digest, txt)")
    return texts


# ---------------------------------------------------------------- the SQL


def source_file_sql() -> str:
    """(rn, col, v, x): a file that cannot be read, at the first row naming it; a checksum that
    differs, at every row (provenance.check_sources)."""
    s, a = view(SOURCES), q(ARCHIVE)
    unreadable = (f"select rn, 'path' as col, path as v, problem as x from (select s.rn, s.path, a.problem, "
                  f"row_number() over (partition by s.path order by s.rn) as k from {s} s join {a} a on a.path = s.path "
                  f"where a.problem <> '') u where k = 1")
    checksum = (f"select s.rn, 'sha256' as col, s.sha256 as v, a.digest || chr(31) || s.path as x from {s} s "
                f"join {a} a on a.path = s.path where a.problem in ('', 'not_utf8') and a.digest <> s.sha256")
    return f"{unreadable} union all {checksum}"


FAILING = "failing_quotes"  # engine table: the pairs (sources_sql.PAIRS) whose quote fails


def failing_pairs_sql() -> str:
    """(res, col, path, quote) of the pairs whose quote has an excerpt that is not in the archived
    text of their file (or an empty one)."""
    a = q(ARCHIVE)
    excerpts = (f"select p.res, p.col, p.path, p.quote, unnest(string_split(p.quote, {lit(SEP)})) as e from {q(PAIRS)} p "
                f"join {a} a on a.path = p.path and a.problem = '' where p.quote <> ''")
    return (f"select distinct x.res, x.col, x.path, x.quote from ({excerpts}) x join {a} a on a.path = x.path "
            f"where trim(x.e) = '' or not contains(a.txt, x.e)")  # not strpos: it counts characters


def quote_sql(name: str, col: str) -> str:
    """(rn, col, v, x): the rows of the failing pairs (failing_pairs_sql, table FAILING)."""
    t, s = view(name), view(SOURCES)
    failing = f"select path, quote from {q(FAILING)} where res = {lit(name)} and col = {lit(col)}"
    return (f"select t.rn, {lit(col)} as col, t.source_id as v, t.{q(col)} as x from {t} t "
            f"join {s} s on s.source_id = t.source_id join ({failing}) f on f.path = s.path and f.quote = t.{q(col)}")


def quote_checks(schemas: dict[str, dict]) -> list[tuple[str, str, str]]:
    return [(col, name, quote_sql(name, col)) for col, name in quoted(schemas)]


def figure_pairs_sql(name: str, schema: dict) -> str | None:
    """The distinct (column, value, quote) of the figures of non-derived rows: the distinct
    (quote, figures) of the rows first, in one pass over the table, then each figure's pairs
    from those (a few hundred at N = 10,000), not a pass over the table per figure."""
    fields = {f["name"]: f for f in schema["fields"]}
    figures = roles.figures(schema)
    if "source_quote" not in fields or "derived" not in fields or not figures:
        return None
    g = q("figures_" + name)  # one name per resource (SQLGlot hoists CTEs for Spark)
    rows = (f"select source_quote, {', '.join(q(c) for c in figures)} from {view(name)} "
            f"where derived <> 'true' group by source_quote, {', '.join(q(c) for c in figures)}")
    parts = [f"select distinct {lit(c)} as col, t.{q(c)} as v, t.source_quote as quote from {g} t "
             f"where {usable(fields[c], 't.' + q(c))}" for c in figures]
    return f"select * from (with {g} as ({rows}) {' union all '.join(parts)}) s"


def errata_pairs_sql(schema: dict) -> str | None:
    """The distinct (value column, value, quote column's text) of errata (value_carried in
    quote_carried, value_other in quote_other)."""
    fields = {f["name"]: f for f in schema["fields"]}
    parts = [f"select distinct {lit(v)} as col, {q(v)} as v, {q(c)} as quote from {view('errata')} t "
             f"where {usable(fields[v], 't.' + q(v))}"
             for v, c in ERRATA_QUOTES.items() if v in fields and c in fields]
    return " union all ".join(parts) or None


def explanation_pairs_sql(schema: dict) -> str | None:
    """The distinct (explanation_zh, explanation_en) of errata holding both: their numbers are
    compared in Python (provenance.explanations_problem), a few hundred pairs at most."""
    if not all(c in {f["name"] for f in schema["fields"]} for c in EXPLANATIONS):
        return None
    zh, en = map(q, EXPLANATIONS)
    return f"select distinct {zh}, {en} from {view('errata')} where {zh} <> '' and {en} <> ''"


def explanation_rows_sql(failing: list[tuple[str, str]]) -> str:
    """SQL (rn, col, v, x): the errata rows holding the failing (explanation_zh, explanation_en) pairs."""
    values = ", ".join(f"({lit(zh)}, {lit(en)})" for zh, en in failing)
    zh, en = map(q, EXPLANATIONS)
    return (f"select t.rn, {lit(EXPLANATIONS[0])} as col, t.{zh} as v, t.{en} as x from {view('errata')} t "
            f"join (select * from (values {values}) as b(zh, en)) b on t.{zh} = b.zh and t.{en} = b.en")


def rows_of(name: str, failing: list[tuple[str, str, str]], quote_of, where: str = "true") -> str:
    """SQL (rn, col, v, x): the rows (where `where` holds) holding the failing (column, value,
    quote) triples."""
    values = ", ".join(f"({lit(c)}, {lit(v)}, {lit(qt)})" for c, v, qt in failing)
    match = " or ".join(f"(b.col = {lit(c)} and t.{q(c)} = b.v and t.{q(quote_of(c))} = b.quote)"
                        for c in sorted({c for c, _, _ in failing}))
    return (f"select t.rn, b.col, b.v, '' as x from {view(name)} t join (select * from (values {values}) "
            f"as v(col, v, quote)) b on {match} where {where}")


def queries(schemas: dict[str, dict]) -> list[str]:
    """The SQL naming the columns these checks read (for the load)."""
    out = [sql for *_, sql in quote_checks(schemas)]
    out += [pairs_sql(name, col, None) for col, name in quoted(schemas)]
    if SOURCES in schemas:
        out.append(source_file_sql())
        out.append(f"select distinct path, sha256, source_id from {view(SOURCES)}")
    out += [sql for name, schema in schemas.items() if (sql := figure_pairs_sql(name, schema))]
    if "errata" in schemas and (sql := errata_pairs_sql(schemas["errata"])):
        out.append(sql)
    if "errata" in schemas and (sql := explanation_pairs_sql(schemas["errata"])):
        out.append(sql)
    for name, schema in schemas.items():
        if _is_rule_table(schema):
            out += [rules_sql(name), children_sql(name, schema) or ""]
            out += [f"select {q(c)} from {view(name)}" for c in [roles.main_figure(schema)] if c]
    return out


# ---------------------------------------------------------------- the checks


def check(engine, loaded: dict, root: Path, names: list[str], report: Report) -> None:
    from .identities import failing_rows

    if SOURCES in loaded:
        texts = load_archive(engine, root)
        _source_files(engine, loaded, report)
        _quotes(engine, loaded, texts, report, failing_rows)
    _figures(engine, loaded, report)
    _derivations(engine, loaded, set(names), report)


def _source_files(engine, loaded: dict, report: Report) -> None:
    from .identities import failing_rows

    src = loaded[SOURCES]
    for _kind, t, rows, lines in failing_rows(engine, [("sources", SOURCES, source_file_sql())], loaded):
        for (_rn, col, v, x), line in zip(rows, lines):
            if col == "sha256":
                digest, rel = x.split("\x1f")
                text = (f"SHA-256 of {rel} is {digest}, not the recorded {v}: the archived source changed "
                        "(it must never be edited)")
            else:
                text = {"outside": f"`{v}` is outside the package directory",
                        "missing": f"archived source `{v}` is missing",
                        "not_utf8": f"{v} is not UTF-8 text: quotes citing it cannot be checked"}[x]
            report.add(src.rel, line, col, text, col_no=src.col_no(col))


def _quotes(engine, loaded: dict, texts: dict[str, str], report: Report, failing_rows) -> None:
    if not quoted({n: t.schema for n, t in loaded.items()}) or not texts:
        return
    source_pairs(engine, loaded)
    engine.materialize(FAILING, failing_pairs_sql())
    checks = [(col, name, quote_sql(name, col)) for name, col in engine.query(f"select distinct res, col from {q(FAILING)}")]
    if not checks:
        return
    path_of: dict[str, str] = {}
    found: dict[tuple, str | None] = {}
    for col, t, rows, lines in failing_rows(engine, checks, loaded):
        # source -> file asked only when some quote fails (N = 10,000: 10,000 rows for nothing)
        path_of = path_of or dict(engine.query(f"select source_id, path from {view(SOURCES)}"))
        for (_rn, _col, sid, quote), line in zip(rows, lines):
            if (sid, quote) not in found:
                found[(sid, quote)] = quote_problem(quote, texts[path_of[sid]], col)
            if found[(sid, quote)]:
                report.add(t.rel, line, col, f"{found[(sid, quote)]} ({sid})", col_no=t.col_no(col))


def _missing_figures(pairs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The (column, value, quote) whose value is not a number of the quote (provenance.py's
    tokeniser: full-width digits, 1,234.5, Chinese numerals), each distinct quote once."""
    if not pairs:
        return []
    quotes = sorted({p[2] for p in pairs})
    index = {quote: i for i, quote in enumerate(quotes)}
    owners, tokens = _quote_tokens(as_arrow([with_chinese_numerals(x) for x in quotes]))
    have = set(zip(owners.to_pylist(), tokens.to_pylist()))
    values = _normalise_numbers(as_arrow([p[1] for p in pairs]), strip_sign=True).to_pylist()
    return [p for p, v in zip(pairs, values) if (index[p[2]], v) not in have]


def _by_resource(engine, queries: dict[str, str | None]) -> dict[str, list[tuple]]:
    """The rows of each resource's query, all asked in one statement (a statement has a fixed
    cost: planning, and on Spark a job), in the resources' order; None: no query."""
    asked = [(name, sql) for name, sql in queries.items() if sql]
    if not asked:
        return {}
    union = " union all ".join(f"select {i} as x0, * from ({sql}) s{i}" for i, (_, sql) in enumerate(asked))
    rows: dict[str, list[tuple]] = {name: [] for name, _ in asked}
    for i, *row in engine.query(union):
        rows[asked[i][0]].append(tuple(row))
    return rows


def _figures(engine, loaded: dict, report: Report) -> None:
    """Figures of non-derived rows in their source_quote; errata's figures in their quotes, and the
    same numbers in their two explanations."""
    from .identities import failing_rows

    checks = []
    pairs = _by_resource(engine, {name: figure_pairs_sql(name, t.schema) for name, t in loaded.items()})
    for name, found in pairs.items():
        if bad := _missing_figures(found):
            checks.append(("figure", name, rows_of(name, bad, lambda c: "source_quote", "t.derived <> 'true'")))
    if "errata" in loaded and (sql := errata_pairs_sql(loaded["errata"].schema)):
        bad = [p for p in engine.query(sql) if not figure_in_quote(p[1], p[2])]
        if bad:
            checks.append(("errata", "errata", rows_of("errata", bad, ERRATA_QUOTES.get)))
    if "errata" in loaded and (sql := explanation_pairs_sql(loaded["errata"].schema)):
        if bad := [p for p in engine.query(sql) if explanations_problem(*p)]:
            checks.append(("explanation", "errata", explanation_rows_sql(bad)))
    if not checks:
        return
    for kind, t, rows, lines in failing_rows(engine, checks, loaded):
        for (_rn, col, v, x), line in zip(rows, lines):
            if kind == "explanation":
                text = explanations_problem(v, x) or ""
            elif kind == "figure":
                text = (f"{v} is not in its source_quote (a non-derived row quotes every figure it carries; mark "
                        "computed values derived)")
            else:
                text = f"{v} is not in {ERRATA_QUOTES[col]}"
            report.add(t.rel, line, col, text, col_no=t.col_no(col))


# ---------------------------------------------------------------- derived rows


def _is_rule_table(schema: dict) -> bool:
    names = {f["name"] for f in schema["fields"]}
    return "derivation" in names and "derived" in names


def children_sql(name: str, schema: dict) -> str | None:
    """(rn, col, v, x) of rows derived as sum(children): none of the rows has it as parent
    (col 'derivation'), or a group of its children (per breakdown, if the resource has one) does
    not add up to it (x: the group, its sum)."""
    value = roles.main_figure(schema)
    links = roles.parent_links(schema)
    if value is None or not links:
        return None
    parent = links[0][0]
    fields = {f["name"]: f for f in schema["fields"]}
    group = f"c.{q(PARTS_GROUP)}" if PARTS_GROUP in fields else "''"
    ok = usable(fields[value], f"c.{q(value)}")
    t, scope = view(name), roles.scope(schema)
    by = ", ".join(f"c.{q(s)}" for s in scope)
    sums = (f"select {by}, c.{q(parent)} as par, {group} as grp, min(case when {ok} then 1 else 0 end) as allok, "
            f"sum(case when {ok} then cast(c.{q(value)} as {DECIMAL}) end) as total from {t} c "
            f"where c.{q(parent)} <> '' group by {by}, c.{q(parent)}, {group}")
    on = " and ".join(f"g.{q(s)} = d.{q(s)}" for s in scope) + " and g.par = d.pkey"
    derived = (f"select p.rn, {', '.join(f'p.{q(s)}' for s in scope)}, {_key(schema, 'p')} as pkey, "
               f"p.{q(value)} as v, {usable(fields[value], 'p.' + q(value))} as ok from {t} p "
               f"where p.derived = 'true' and trim(p.derivation) = 'sum(children)'")
    d, g = q("derived_" + name), q("sums_" + name)  # one name per resource (SQLGlot hoists CTEs)
    return (f"select * from (with {d} as ({derived}), {g} as ({sums}) "
            f"select d.rn, 'derivation' as col, '' as v, '' as x from {d} d anti join {g} g on {on} "
            f"union all select d.rn, {lit(value)} as col, d.v, g.grp || chr(31) || cast(g.total as VARCHAR) as x "
            f"from {d} d join {g} g on {on} where g.allok = 1 and d.ok and g.total <> cast(d.v as {DECIMAL})) s")


def rules_sql(name: str) -> str:
    """The distinct derivation texts other than sum(children), to parse in Python once each."""
    return (f"select distinct derivation from {view(name)} where derived = 'true' "
            f"and trim(derivation) not in ('sum(children)', '')")


def rule_sql(name: str, schema: dict, rule: str, terms: list, schemas: dict) -> str:
    """(rn, col, v, x) of the rows derived by `rule` whose value is not the rule recomputed
    (col the value column, x the terms' values and the total) or that name a row the resource
    does not have (col 'derivation', x the first missing term's number). Terms refer to the
    main figure of a row of the same department-year."""
    value = roles.main_figure(schema)
    fields = {f["name"]: f for f in schema["fields"]}
    scope = roles.scope(schema)
    joins, nums = [], []
    for i, (_sign, term) in enumerate(terms):
        if not isinstance(term, tuple):
            nums.append(f"cast({lit(term)} as {DECIMAL})")
            continue
        res, key = term
        if res not in schemas:  # a resource that could not be read (reported): nothing to compare
            nums.append(f"cast(null as {DECIMAL})")
            continue
        target = schemas[res]
        tv = roles.main_figure(target)
        tf = {f["name"]: f for f in target["fields"]}[tv]
        on = " and ".join(f"r{i}.{q(s)} = p.{q(s)}" for s in scope)
        joins.append(f"left join (select {', '.join(q(s) for s in scope)}, {_key(target, 'x')} as k, "
                     f"x.{q(tv)} as v, {usable(tf, 'x.' + q(tv))} as ok from {view(res)} x) r{i} "
                     f"on {on} and r{i}.k = {lit(key)}")
        nums.append(f"(case when r{i}.ok then cast(r{i}.v as {DECIMAL}) end)")
    total = " ".join(f"{'-' if sign < 0 else '+'} coalesce({n}, 0)" for (sign, _), n in zip(terms, nums))
    shown = " || chr(31) || ".join(f"coalesce(cast({n} as VARCHAR), '')" for n in nums)
    missing = [f"when r{i}.k is null then {i}" for i, (_, term) in enumerate(terms)
               if isinstance(term, tuple) and term[0] in schemas]
    first_missing = f"case {' '.join(missing)} end" if missing else "cast(null as INTEGER)"
    known = " and ".join(f"{n} is not null" for n in nums) or "true"
    own = f"(case when {usable(fields[value], 'p.' + q(value))} then cast(p.{q(value)} as {DECIMAL}) end)"
    rows = (f"select p.rn, p.{q(value)} as v, {own} as own, {first_missing} as gone, {known} as known, "
            f"({total}) as total, {shown} as shown from {view(name)} p {' '.join(joins)} "
            f"where p.derived = 'true' and p.derivation = {lit(rule)}")
    return (f"select rn, case when gone is not null then 'derivation' else {lit(value)} end as col, v, "
            f"case when gone is not null then cast(gone as VARCHAR) "
            f"else shown || chr(31) || cast(total as VARCHAR) end as x from ({rows}) r "
            f"where gone is not null or (known and own is not null and own <> total)")


def _rule_rows(name: str, where: str) -> str:
    return (f"select rn, 'derivation' as col, '' as v, '' as x from {view(name)} "
            f"where derived = 'true' and {where}")


def _rule_check(name: str, rule: str, schemas: dict, names: set) -> tuple[str, tuple]:
    """(sql, what the message needs) of the rows derived by one rule (checks/provenance.py
    _expression): unreadable, a resource that has no amounts, a row not there, a value that is
    not the rule's."""
    terms = _parse_rule(rule)
    if isinstance(terms, str):
        return _rule_rows(name, f"derivation = {lit(rule)}"), ("message", terms)
    refs = [t for _, t in terms if isinstance(t, tuple)]
    no_amounts = [res for res, _ in refs if res not in names or (res in schemas and (
        roles.main_figure(schemas[res]) is None or not roles.row_key_fields(schemas[res])))]
    if no_amounts:  # provenance.py: the last such resource is the one named
        return _rule_rows(name, f"derivation = {lit(rule)}"), (
            "message", f"derivation refers to `{no_amounts[-1]}`, which is not a resource with amounts")
    if roles.main_figure(schemas[name]) is None:
        return "", ("skip",)
    return rule_sql(name, schemas[name], rule, terms, schemas), ("rule", rule, terms)


def _derivations(engine, loaded: dict, names: set, report: Report) -> None:
    from .identities import failing_rows

    schemas = {n: t.schema for n, t in loaded.items()}
    checks, needs = [], []
    rules = _by_resource(engine, {n: rules_sql(n) for n, t in loaded.items() if _is_rule_table(t.schema)})
    for name, t in loaded.items():
        if not _is_rule_table(t.schema):
            continue
        children = children_sql(name, t.schema)
        if children is None:
            sql, need = _rule_rows(name, "trim(derivation) = 'sum(children)'"), (
                "message", f"sum(children): {name} has no parent column")
        else:
            sql, need = children, ("children",)
        checks.append((len(needs), name, sql))
        needs.append(need)
        for (rule,) in rules[name]:
            sql, need = _rule_check(name, rule, schemas, names)
            if sql:
                checks.append((len(needs), name, sql))
                needs.append(need)
    if not checks:
        return
    for i, t, rows, lines in failing_rows(engine, checks, loaded):
        for (_rn, col, v, x), line in zip(rows, lines):
            report.add(t.rel, line, col, _derivation_message(needs[i], col, v, x), col_no=t.col_no(col))


def _derivation_message(need: tuple, col: str, v: str, x: str) -> str:
    if need[0] == "message":
        return need[1]
    if need[0] == "children":
        if col == "derivation":
            return "derived as sum(children) but no row has it as parent"
        group, total = x.split("\x1f")
        what = f"the {group} children" if group else "its children"
        return f"derived {col} {v} is not sum(children): {what} sum to {fmt(Decimal(total))}"
    _, rule, terms = need
    if col == "derivation":
        res, key = terms[int(x)][1]
        return (f"derivation refers to {{{res}:{key}}}, which is not a row of {res} for this year and "
                "department")
    *values, total = x.split("\x1f")
    shown = " ".join(f"{'-' if sign < 0 else '+'} {fmt(Decimal(n))}" for (sign, _), n in zip(terms, values))
    return f"derived {col} {v} does not match `{rule}` = {shown.lstrip('+ ')} = {fmt(Decimal(total))}"
