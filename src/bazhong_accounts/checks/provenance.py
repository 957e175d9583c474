"""Check (e): every row traces back to the archived source.

- sources: the archived file exists inside the package and its SHA-256 is the one recorded;
- source_quote (and errata quote_carried): each excerpt (joined by " … ") is a substring of the
  archived text of the row's source;
- a non-derived row's figures (role figure: not years, levels or ordinals) each appear as a number
  in its quote, compared as decimals (675.70 == 675.7; sign ignored: 减少2.89 carries -2.89);
- a derived row equals its derivation: `sum(children)`, or `{resource:key} ± …` over the amount
  (or value) of rows of the same fiscal year and department, recomputed exactly;
- an erratum's Chinese and English explanations cite the same numbers (explanation_numbers), so
  that a figure cannot change, or be mistyped, in one language only.

Quotes are tokenised once per distinct quote with Arrow kernels, and (quote, value) pairs are
looked up as a set, so the check is column-wise, not row by row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import re
import unicodedata
from collections import Counter
from decimal import Decimal
from pathlib import Path

from ..model import roles
from ..model.problems import Report
from ..model.table import Table, as_arrow, join_keys
from .identities import GroupSums, Rows, fmt
from .figure_sources import archived_file, with_chinese_numerals
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

SEP = " … "
REF = re.compile(r"\s*([+-])?\s*(?:\{([a-z0-9_]+):([^{}]+)\}|([0-9]+(?:\.[0-9]+)?))\s*")


def check_sources(root: Path, src: Table | None, report: Report) -> dict[str, str]:
    """Archived files and checksums; returns source_id -> archived text (one str per file, however
    many sources share it)."""
    texts: dict[str, str] = {}
    if src is None:
        return texts
    files: dict[str, tuple[str, str | None] | None] = {}  # path -> (sha256, text or None) / None if unreadable
    for r in range(len(src)):
        sid, rel, sha = (src.col(c)[r] for c in ("source_id", "path", "sha256"))
        line = int(src.lines[r])
        if rel not in files:
            problem, digest, text = archived_file(root, rel)
            if problem in ("outside", "missing"):
                files[rel] = None
                report.add(src.path, line, "path", f"`{rel}` is outside the package directory" if problem == "outside"
                           else f"archived source `{rel}` is missing", col_no=src.col_no("path"))
                continue
            if problem == "not_utf8":
                report.add(src.path, line, "path", f"{rel} is not UTF-8 text: quotes citing it cannot be checked",
                           col_no=src.col_no("path"))
            files[rel] = (digest, text)
        known = files[rel]
        if known is None:
            continue
        digest, text = known
        if digest != sha:
            report.add(src.path, line, "sha256", f"SHA-256 of {rel} is {digest}, not the recorded {sha}: "
                       "the archived source changed (it must never be edited)", col_no=src.col_no("sha256"))
        if text is not None:
            texts[sid] = text
    return texts


def _where_it_differs(excerpt: str, text: str) -> str:
    """The longest prefix of the excerpt found in the text, by bisection (prefix presence is
    monotone), to say where the excerpt departs from the source."""
    lo, hi = 0, len(excerpt)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if excerpt[:mid] in text:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return "not even its first character is"
    return f"it departs from the source after «{excerpt[max(0, lo - 12):lo]}»"


def quote_problem(quote: str, text: str, col: str) -> str | None:
    """What is wrong with the first excerpt of `quote` not found verbatim in `text`, or None."""
    for excerpt in quote.split(SEP):
        if not excerpt.strip():
            return f"empty excerpt in {col} (excerpts are joined by ' … ')"
        if excerpt not in text:
            short = excerpt if len(excerpt) <= 40 else excerpt[:40] + "…"
            return f"excerpt «{short}» is not in the archived source; {_where_it_differs(excerpt, text)}"
    return None


def check_quotes(t: Table, texts: dict[str, str], report: Report, col: str = "source_quote") -> None:
    """Each excerpt of each distinct (archived text, quote) pair is looked up once in that text."""
    if col not in t.text or "source_id" not in t.text:
        return
    files = list({id(text): text for text in texts.values()}.values())
    file_no = {id(text): i for i, text in enumerate(files)}
    sid_codes, sids = t.codes("source_id")
    file_of_sid = np.array([file_no.get(id(texts.get(sid)), -1) if sid in texts else -1 for sid in sids] + [-1])
    quote_codes, quotes = t.codes(col)
    pair = file_of_sid[sid_codes] * (len(quotes) + 1) + quote_codes  # -1 file: unknown source (foreign key)
    distinct, inverse = np.unique(pair, return_inverse=True)
    problems = np.full(len(distinct), None, dtype=object)
    for i, p in enumerate(distinct):
        f, q = divmod(int(p), len(quotes) + 1)
        if f < 0 or q >= len(quotes) or not quotes[q]:
            continue  # unknown source (foreign key) or empty quote (required): reported elsewhere
        problems[i] = quote_problem(quotes[q], files[f], col)
    bad = problems[inverse.ravel()]
    for r in np.flatnonzero(bad != None):  # noqa: E711 - elementwise on an object array
        report.add(t.path, int(t.lines[r]), col, f"{bad[r]} ({t.col('source_id')[r]})", col_no=t.col_no(col))


def _normalise_numbers(x: pa.Array, strip_sign: bool = False) -> pa.Array:
    """Number text -> canonical decimal text: 0675.70 -> 675.7, 100.0 -> 100, 1. -> 1."""
    if strip_sign:
        x = pc.replace_substring_regex(x, r"^[+-]", "")
    x = pc.replace_substring_regex(x, r"^\.+|\.+$", "")
    x = pc.replace_substring_regex(x, r"^0+([0-9])", r"\1")
    x = pc.replace_substring_regex(x, r"^([0-9]+\.[0-9]*?)0+$", r"\1")
    return pc.replace_substring_regex(x, r"\.$", "")


def _quote_tokens(quotes: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(quote number, token) for every number printed in each quote (full-width digits folded,
    1,234.5 read both as 1234.5 and as 1 and 234.5)."""
    norm = pc.utf8_normalize(quotes, "NFKC")
    pieces = pc.split_pattern_regex(norm, r"[^0-9.,]+")
    flat, parent = pc.list_flatten(pieces), pc.list_parent_indices(pieces)
    joined = pc.replace_substring(flat, ",", "")
    split = pc.split_pattern(flat, ",")
    split_flat = pc.list_flatten(split)
    split_parent = pc.take(parent, pc.list_parent_indices(split))
    tokens = _normalise_numbers(pa.concat_arrays([joined, split_flat]))
    owners = pa.concat_arrays([parent, split_parent])
    return owners, tokens


def check_numbers(t: Table, report: Report) -> None:
    if "source_quote" not in t.text or "derived" not in t.text:
        return
    numeric = roles.figures(t.schema)
    if not numeric:
        return
    plain = (t.text["derived"] != "true").to_numpy()
    codes, uniques = t.codes("source_quote")
    owners, tokens = _quote_tokens(as_arrow([with_chinese_numerals(q) for q in uniques]))  # 连续三年: 3
    owners = owners.to_numpy(zero_copy_only=False).astype(np.int64)
    # each column's distinct texts normalised once (675.70 -> 675.7), then (quote, number) pairs
    # as integers: quote code * (distinct numbers) + number code
    wanted, parts = {}, [tokens]
    for col in numeric:
        rows = np.flatnonzero(plain & t.usable(col))
        if len(rows):
            value_codes, values = t.codes(col)
            wanted[col] = (rows, value_codes[rows], len(values))
            parts.append(_normalise_numbers(as_arrow(values), strip_sign=True))
    number_codes, numbers = pd.factorize(pd.concat([pd.Series(a.to_numpy(zero_copy_only=False), dtype=object)
                                                    for a in parts], ignore_index=True))
    width = max(len(numbers), 1)
    have = owners * width + number_codes[: len(tokens)]
    start = len(tokens)
    for col, (rows, value_codes, n_values) in wanted.items():
        mine = number_codes[start: start + n_values][value_codes]
        start += n_values
        found = np.isin(codes[rows] * width + mine, have)
        for r in rows[~found]:
            report.add(t.path, int(t.lines[r]), col,
                       f"{t.col(col)[r]} is not in its source_quote (a non-derived row quotes every figure it "
                       "carries; mark computed values derived)", col_no=t.col_no(col))


# ---------------------------------------------------------------- derived rows


def _value_col(t: Table) -> str | None:
    """The figure a derivation computes (roles.main_figure: amount, value, …)."""
    return roles.main_figure(t.schema)


def _parent_col(t: Table) -> str | None:
    """The parent column of the schema's self-referencing foreign key (roles.parent_links)."""
    links = roles.parent_links(t.schema)
    return links[0][0] if links else None


def _sum_of_children(t: Table, rows: np.ndarray, report: Report) -> None:
    vcol, pcol = _value_col(t), _parent_col(t)
    if vcol is None or pcol is None:
        for r in rows:
            report.add(t.path, int(t.lines[r]), "derivation", f"sum(children): {t.name} has no parent column",
                       col_no=t.col_no("derivation"))
        return
    sums = GroupSums(t, pcol, vcol, "breakdown" if "breakdown" in t.fields else None)
    mine = join_keys(*[t.col(c)[rows] for c in t.scope()], t.row_keys().to_numpy()[rows])
    owner = pc.index_in(join_keys(sums.fy, sums.dept, sums.parent), value_set=mine)
    owner = pc.fill_null(owner, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    has_children = np.zeros(len(rows), dtype=bool)
    has_children[owner[owner >= 0]] = True
    for r in rows[~has_children]:
        report.add(t.path, int(t.lines[r]), "derivation", "derived as sum(children) but no row has it as parent",
                   col_no=t.col_no("derivation"))
    ok = t.usable(vcol)
    for g in np.flatnonzero((owner >= 0) & ~sums.missing):
        row = int(rows[owner[g]])
        if ok[row] and sums.total[g] != sums.own_values[row]:
            what = f"the {sums.group[g]} children" if sums.group[g] else "its children"
            report.add(t.path, int(t.lines[row]), vcol,
                       f"derived {vcol} {t.col(vcol)[row]} is not sum(children): {what} sum to "
                       f"{fmt(sums.decimal(sums.total[g]))}", col_no=t.col_no(vcol))


def _parse_rule(rule: str):
    """[(sign, Decimal or (resource, key))], or the reason the rule cannot be read."""
    pos, terms = 0, []  # type: tuple[int, list[tuple[int, Decimal | tuple[str, str]]]]
    while pos < len(rule):
        m = REF.match(rule, pos)
        if not m or m.end() == pos or (terms and not m.group(1)):
            return (f"cannot read the derivation `{rule}` at «{rule[pos:pos + 20]}»: expected sum(children) "
                    "or {resource:key} terms joined by + and -")
        pos = m.end()
        sign = -1 if m.group(1) == "-" else 1
        terms.append((sign, Decimal(m.group(4)) if m.group(4) else (m.group(2), m.group(3).strip())))
    return terms


def _expression(t: Table, rows: np.ndarray, tables: dict[str, Table], known: set[str], report: Report) -> None:
    """Rules are parsed once per distinct text; references are resolved per resource in one
    lookup; then each row's terms are added up."""
    vcol = _value_col(t)
    rules = t.col("derivation")
    parsed = {rule: _parse_rule(rule) for rule in set(rules[rows])}
    values: dict[tuple[int, int], Decimal | None] = {}  # (row, term) -> referenced value
    problems: dict[int, str] = {}
    wanted: dict[str, list[tuple[int, int, str]]] = {}
    for r in rows:
        terms = parsed[rules[r]]
        if isinstance(terms, str):
            problems[r] = terms
            continue
        for i, (_, term) in enumerate(terms):
            if isinstance(term, tuple):
                wanted.setdefault(term[0], []).append((r, i, term[1]))
    for res, items in wanted.items():
        target = tables.get(res)
        if target is None and res in known:
            for r, i, _ in items:
                values[(r, i)] = None  # that resource could not be read (reported): nothing to compare
            continue
        if target is None or _value_col(target) is None or not target.row_key_fields():
            for r, _, _ in items:
                problems[r] = f"derivation refers to `{res}`, which is not a resource with amounts"
            continue
        at = np.array([r for r, _, _ in items])
        pos = Rows(target).find(t.col("fiscal_year")[at], t.col("department")[at], [k for _, _, k in items])
        found = target.dec(_value_col(target) or "")  # checked above: the target has a value column
        for (r, i, key), p in zip(items, pos, strict=False):
            if p < 0:
                problems.setdefault(r, f"derivation refers to {{{res}:{key}}}, which is not a row of {res} "
                                       "for this year and department")
            else:
                values[(r, i)] = found[p]
    own = t.dec(vcol) if vcol else None
    for r in rows:
        line = int(t.lines[r])
        if r in problems:
            report.add(t.path, line, "derivation", problems[r], col_no=t.col_no("derivation"))
            continue
        terms = parsed[rules[r]]
        nums = [term if not isinstance(term, tuple) else values[(r, i)] for i, (_, term) in enumerate(terms)]
        if own is None or vcol is None or not terms or any(n is None for n in nums) or own[r] is None:
            continue
        total = sum(sign * n for (sign, _), n in zip(terms, nums, strict=False))
        if own[r] != total:
            signed = zip(terms, nums, strict=True)
            shown = " ".join(f"{'-' if sign < 0 else '+'} {fmt(n)}" for (sign, _), n in signed).lstrip("+ ")
            report.add(t.path, line, vcol, f"derived {vcol} {t.col(vcol)[r]} does not match `{rules[r]}` = "
                       f"{shown} = {fmt(total)}", col_no=t.col_no(vcol))


def check_derivations(t: Table, tables: dict[str, Table], known: set[str], report: Report) -> None:
    if "derivation" not in t.text or "derived" not in t.text:
        return
    derived = (t.text["derived"] == "true").to_numpy()
    rule = t.text["derivation"].str.strip()
    children = np.flatnonzero(derived & (rule == "sum(children)").to_numpy())
    other = np.flatnonzero(derived & (rule != "sum(children)").to_numpy() & (rule != "").to_numpy())
    if len(children):
        _sum_of_children(t, children, report)
    if len(other):
        _expression(t, other, tables, known, report)


def check_provenance(root: Path, tables: dict[str, Table], known: set[str], report: Report) -> None:
    texts = check_sources(root, tables.get("sources"), report)
    for t in tables.values():
        check_quotes(t, texts, report)
        check_numbers(t, report)
        check_derivations(t, tables, known, report)
    if tables.get("errata") is not None:
        check_quotes(tables["errata"], texts, report, col="quote_carried")
        check_errata_figures(tables["errata"], report)
        check_errata_explanations(tables["errata"], report)


def check_errata_figures(errata: Table, report: Report) -> None:
    """value_carried stands in quote_carried and value_other in quote_other (a printed excerpt, or
    the rule that recomputes it), so neither figure can change without its quote."""
    for value_col, quote_col in (("value_carried", "quote_carried"), ("value_other", "quote_other")):
        if value_col not in errata.text or quote_col not in errata.text:
            continue
        pairs = pd.DataFrame({"v": errata.text[value_col], "q": errata.text[quote_col]})
        usable = errata.usable(value_col)
        for (value, quote), rows in pairs[usable].groupby(["v", "q"], sort=False).groups.items():
            if not figure_in_quote(value, quote):
                for r in rows:
                    report.add(errata.path, int(errata.lines[r]), value_col,
                               f"{value} is not in {quote_col}", col_no=errata.col_no(value_col))


def figure_in_quote(value: str, quote: str) -> bool:
    """An erratum's figure is printed in its quote (compared by value, sign aside)."""
    printed = {_canonical(n) for n in re.findall(r"[0-9]+(?:\.[0-9]+)?", unicodedata.normalize("NFKC", quote))}
    return _canonical(value.lstrip("+-")) in printed


def _canonical(number: str) -> str:
    """675.70 -> 675.7, 100.0 -> 100: numbers compared by value, as in the quote check."""
    whole, _, frac = number.partition(".")
    whole, frac = whole.lstrip("0") or "0", frac.rstrip("0")
    return f"{whole}.{frac}" if frac else whole


# The two explanations of an erratum (checks/engines/provenance_sql.py runs the same check).
EXPLANATIONS = ("explanation_zh", "explanation_en")
# A number of an explanation: digits, decimals kept as written (675.7 and 675.70 differ: a translation
# repeats the figure, it does not recompute it). Digits joined to a Latin word, directly or by a
# hyphen (level3_zh, level-3, 100-odd), are part of the word: the English glosses the report's Chinese
# terms (三级指标 (level-3 indicator)), and the Chinese need not. Chinese numerals are words too (五项).
EXPLAINED_NUMBER = re.compile(r"(?<![0-9A-Za-z_.])(?<![A-Za-z_]-)[0-9]+(?:\.[0-9]+)?(?![0-9A-Za-z_]|-[A-Za-z]|\.[0-9])")


def explanation_numbers(text: str) -> list[str]:
    """The numbers an explanation cites, sorted (a multiset: 675.7 twice is two)."""
    return sorted(EXPLAINED_NUMBER.findall(unicodedata.normalize("NFKC", text)))


def explanations_problem(zh: str, en: str) -> str | None:
    """Why two explanations do not cite the same numbers (each as often), or None when they do."""
    mine, theirs = Counter(explanation_numbers(zh)), Counter(explanation_numbers(en))
    if mine == theirs:
        return None
    only = [", ".join(sorted((c - other).elements())) or "none" for c, other in ((mine, theirs), (theirs, mine))]
    return (f"{EXPLANATIONS[0]} and {EXPLANATIONS[1]} cite different numbers: only in {EXPLANATIONS[0]}: {only[0]}; "
            f"only in {EXPLANATIONS[1]}: {only[1]}")


def check_errata_explanations(errata: Table, report: Report) -> None:
    """explanations_problem of each erratum with both explanations, each distinct pair once."""
    zh, en = EXPLANATIONS
    if zh not in errata.text or en not in errata.text:
        return
    both = errata.usable(zh) & errata.usable(en)
    pairs = pd.DataFrame({"zh": errata.text[zh], "en": errata.text[en]})[both]
    for (a, b), rows in pairs.groupby(["zh", "en"], sort=False).groups.items():
        if problem := explanations_problem(a, b):
            for r in rows:
                report.add(errata.path, int(errata.lines[r]), zh, problem, col_no=errata.col_no(zh))
