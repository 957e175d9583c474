"""The package's arithmetic identities as SQL group-bys on DuckDB: a sketch of how the checks run when
the data outgrows one Python process (DuckDB streams the CSVs and spills to disk; the same SQL runs
on MotherDuck or, nearly unchanged, on Spark SQL).

    python benchmarks/duckdb_identities.py DIR

Checks, per fiscal year and department, exactly (DECIMAL, no floats): parts sum to their parent
(summary tables by parent and breakdown, expenditure_by_function by parent_code, counts by
parent_count_id), 类 rows sum to expenditure_by_type `gpb_total`, shares and completion rates
rounded half-up to the printed decimals, fiscal + other = total for projects, and `{resource:key}`
expression derivations. A break matching an errata row (resource, year, department, row_key, check)
is known. Not covered here (the Python validator does them): types, keys, provenance, formatting.
Exit status 1 when a break is not explained by an erratum.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import duckdb

from bazhong_accounts.model import roles

MONEY = "DECIMAL(18,4)"  # every figure of the package has at most 2 decimals; checked below
SUMMARY = ("income", "expenditure_by_type", "three_public_expenses")


def _load(con, pkg: Path) -> dict[str, dict]:
    """One view per resource: the CSV read as text, number fields cast to DECIMAL."""
    dp = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    schemas = {}
    for res in dp["resources"]:
        schema = json.loads((pkg / res["schema"]).read_text(encoding="utf-8"))
        schemas[res["name"]] = schema
        cols = []
        for f in schema["fields"]:
            name = f'"{f["name"]}"'
            if f["type"] == "number":
                cols.append(f"cast(nullif({name}, '') as {MONEY}) as {name}, "
                            f"nullif({name}, '') as {f['name'] + '_text'}")
            elif f["type"] == "integer":
                cols.append(f"cast(nullif({name}, '') as BIGINT) as {name}")
            else:
                cols.append(f"nullif({name}, '') as {name}")
        path = str(pkg / res["path"]).replace("'", "''")
        con.execute(
            f"create view {res['name']} as select {', '.join(cols)} from read_csv('{path}', header=true, "
            f"all_varchar=true, quote='\"', escape='\"', delim=',', parallel=true)"
        )
        for f in schema["fields"]:
            if f["type"] == "number":
                n = con.execute(f"select count(*) from {res['name']} "
                                f"where {f['name']}_text similar to '-?[0-9]+\\.[0-9]{{5,}}'").fetchone()[0]
                if n:
                    raise ValueError(f"{res['name']}.{f['name']}: {n} values with more than 4 decimals")
    return schemas


def _rounds_to(value: str, printed: str, text: str) -> str:
    """SQL: `printed` is `value` rounded half-up to the decimals of `text` (no division: the
    interval [printed - h, printed + h) scaled by the denominator, h = 0.5 * 10^-decimals)."""
    h = f"cast(0.5 / pow(10, length(coalesce(split_part({text}, '.', 2), ''))) as {MONEY})"
    num, den = value
    return (f"(abs({printed}) - {h}) * abs({den}) <= abs({num}) * 100 "
            f"and abs({num}) * 100 < (abs({printed}) + {h}) * abs({den})")


def identity_sql(schemas: dict[str, dict], con) -> str:
    """One query: every break as (resource, fiscal_year, department, row_key, check, detail)."""
    parts = []
    key = "fiscal_year, department"
    for t in SUMMARY:
        parts.append(f"""
  select '{t}', c.fiscal_year, c.department, c.parent_item_id, 'parts_sum',
         'parts (' || c.breakdown || ') sum to ' || sum(c.amount) || ', parent is ' || any_value(p.amount)
  from {t} c join {t} p on p.fiscal_year = c.fiscal_year and p.department = c.department
   and p.item_id = c.parent_item_id
  group by c.fiscal_year, c.department, c.parent_item_id, c.breakdown having sum(c.amount) <> any_value(p.amount)""")
        parts.append(f"""
  select '{t}', c.fiscal_year, c.department, c.item_id, 'share',
   'share_pct ' || c.share_pct_text || ' vs amount / parent'
  from {t} c join {t} p on p.fiscal_year = c.fiscal_year and p.department = c.department
   and p.item_id = c.parent_item_id
  where c.share_pct is not null and p.amount <> 0
    and not ({_rounds_to(('c.amount', 'p.amount'), 'c.share_pct', 'c.share_pct_text')})""")
        parts.append(f"""
  select '{t}', fiscal_year, department, item_id, 'change',
   'change_pct ' || change_pct_text || ' vs change / (amount - change)'
  from {t} where change_pct is not null and change_amount is not null and amount - change_amount <> 0
    and (sign(change_pct) <> sign(change_amount)
         or not ({_rounds_to(('change_amount', 'amount - change_amount'), 'change_pct', 'change_pct_text')}))""")
        parts.append(f"""
  select '{t}', fiscal_year, department, item_id, 'change', 'prior_year_amount <> amount - change_amount'
  from {t} where prior_year_amount is not null and change_amount is not null
    and prior_year_amount <> amount - change_amount""")
    parts.append("""
  select 'expenditure_by_function', c.fiscal_year, c.department, c.parent_code, 'parts_sum',
         'children sum to ' || sum(c.amount) || ', parent is ' || any_value(p.amount)
  from expenditure_by_function c join expenditure_by_function p
    on p.fiscal_year = c.fiscal_year and p.department = c.department and p.code = c.parent_code
  group by c.fiscal_year, c.department, c.parent_code having sum(c.amount) <> any_value(p.amount)""")
    parts.append(f"""
  select 'expenditure_by_function', f.fiscal_year, f.department, 'level_1', 'parts_sum',
         '类 rows sum to ' || f.total || ', gpb_total is ' || coalesce(cast(t.amount as varchar), 'missing')
  from (select {key}, sum(amount) as total from expenditure_by_function where level = 1 group by {key}) f
  left join expenditure_by_type t on t.fiscal_year = f.fiscal_year and t.department = f.department
   and t.item_id = 'gpb_total'
  where t.amount is distinct from f.total""")
    parts.append(f"""
  select 'expenditure_by_function', f.fiscal_year, f.department, f.code, 'share',
   'share_pct ' || f.share_pct_text || ' vs amount / gpb_total'
  from expenditure_by_function f join expenditure_by_type t
    on t.fiscal_year = f.fiscal_year and t.department = f.department and t.item_id = 'gpb_total'
  where f.level = 1 and f.share_pct is not null and t.amount <> 0
    and not ({_rounds_to(('f.amount', 't.amount'), 'f.share_pct', 'f.share_pct_text')})""")
    for total in ("budget", "executed"):
        parts.append(f"""
  select 'projects', fiscal_year, department, project_id, 'fiscal_plus_other',
         '{total}_fiscal + {total}_other = ' || ({total}_fiscal + coalesce({total}_other, 0))
         || ', {total} is ' || {total}
  from projects where {total}_fiscal is not null and {total}_fiscal + coalesce({total}_other, 0) <> {total}""")
    parts.append(f"""
  select 'projects', fiscal_year, department, project_id, 'completion_rate',
         'completion_pct ' || completion_pct_text || ' vs executed / budget'
  from projects where completion_pct is not null and budget <> 0
    and not ({_rounds_to(('executed', 'budget'), 'completion_pct', 'completion_pct_text')})""")
    parts.append("""
  select 'three_public_expenses_counts', c.fiscal_year, c.department, c.parent_count_id, 'parts_sum',
         'parts sum to ' || sum(c.value) || ', parent is ' || any_value(p.value)
  from three_public_expenses_counts c join three_public_expenses_counts p
    on p.fiscal_year = c.fiscal_year and p.department = c.department and p.count_id = c.parent_count_id
  group by c.fiscal_year, c.department, c.parent_count_id having sum(c.value) <> any_value(p.value)""")
    parts += _expression_derivations(schemas, con)
    return "\n  union all".join(parts)


def _expression_derivations(schemas: dict[str, dict], con) -> list[str]:
    """`{resource:key} ± …` derivations: one join per reference, per distinct rule."""
    out = []
    for t, schema in schemas.items():
        names = [f["name"] for f in schema["fields"]]
        if "derivation" not in names or "amount" not in names:
            continue
        keycol = _key_column(schema)
        rules = con.execute(f"select distinct {keycol}, derivation from {t} where derived = 'true' "
                            f"and derivation like '%{{%'").fetchall()
        for row_key, rule in rules:
            refs = re.findall(r"\{(\w+):(\w+)\}", rule)
            expr, joins = rule, []
            for n, (res, ref_key) in enumerate(refs):
                expr = expr.replace(f"{{{res}:{ref_key}}}", f"r{n}.amount", 1)
                joins.append(f"left join {res} r{n} on r{n}.fiscal_year = d.fiscal_year "
                             f"and r{n}.department = d.department "
                             f"and {_key_column(schemas[res], f'r{n}.')} = '{ref_key}'")
            if not re.fullmatch(r"[\sr0-9.amount+\-()]*", expr):
                raise ValueError(f"{t}: derivation {rule!r} is not a sum or difference of references")
            rule_sql = rule.replace("'", "''")
            out.append(f"""
  select '{t}', d.fiscal_year, d.department, {_key_column(schema, 'd.')}, 'derivation',
   '{rule_sql} = ' || coalesce(cast({expr} as varchar), 'missing')
  from {t} d {' '.join(joins)}
  where {_key_column(schema, 'd.')} = '{row_key}' and d.derivation = '{rule_sql}'
   and ({expr}) is distinct from d.amount""")
    return out


def _key_column(schema: dict, alias: str = "") -> str:
    """SQL naming a row within its department-year (roles.row_key: key fields joined by "|")."""
    fields = roles.row_key_fields(schema)
    if len(fields) == 1:
        return alias + fields[0]
    return f" || '{roles.ROW_KEY_SEPARATOR}' || ".join(f"cast({alias}{c} as varchar)" for c in fields)


def check(pkg: str | Path) -> tuple[list[tuple], list[tuple]]:
    """(unexplained, known) breaks, each (resource, fiscal_year, department, row_key, check, detail)."""
    con = duckdb.connect()
    schemas = _load(con, Path(pkg))
    con.execute(f"create temp table breaks as select * from ({identity_sql(schemas, con)}\n) "
                "b(resource, fiscal_year, department, row_key, check_name, detail)")
    on = ("join errata e on e.resource = b.resource and e.fiscal_year = b.fiscal_year and e.department = b.department "
          "and e.row_key = b.row_key and e.\"check\" = b.check_name")
    known = con.execute(f"select b.* from breaks b semi {on} order by all").fetchall()
    unexplained = con.execute(f"select b.* from breaks b anti {on} order by all").fetchall()
    return unexplained, known


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    unexplained, known = check(argv[0])
    for b in unexplained[:50]:
        print("break: " + " ".join(str(x) for x in b))
    print(f"duckdb identities: {len(unexplained)} unexplained break(s), {len(known)} known (errata)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
