"""Rows of a hierarchy in reading order: each parent before its parts, with its depth for the
indent (本年收入合计 before 事业收入, 公务用车购置及运行维护费 before its two parts, a 类 before its
款 and 项). Which field names a row's parent comes from the Table Schema: its self-referencing
foreign key (roles.parent_links), nothing else. The table pages, the report card and the
comparison of two department-years all order their rows here.
"""

from __future__ import annotations

from ..model import roles


def parent_link(schema: dict) -> tuple[str, str] | None:
    """(parent field, the key field it names) of a hierarchical resource, else None."""
    links = roles.parent_links(schema)
    return links[0] if links else None


def tree_order(schema: dict, rows: list[dict]) -> list[tuple[dict, int]]:
    """(row, depth) in reading order: rows grouped by department-year (in the order they come),
    each group walked from its roots, parts after their parent in the order they come. A row whose
    parent is not among `rows` (on another page) counts as a root; no row is ever dropped."""
    link = parent_link(schema)
    if link is None:
        return [(r, 0) for r in rows]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r.get(c) for c in roles.scope(schema)), []).append(r)
    out: list[tuple[dict, int]] = []
    for group in groups.values():
        out += _walk(group, *link)
    return out


def _walk(group: list[dict], parent: str, key: str) -> list[tuple[dict, int]]:
    keys = {r.get(key) for r in group}
    parts: dict = {}
    for r in group:
        above = r.get(parent)
        parts.setdefault(above if above in keys and above != r.get(key) else None, []).append(r)
    out, seen = [], set()
    stack = [(r, 0) for r in reversed(parts.get(None, []))]
    while stack:
        row, depth = stack.pop()
        if id(row) in seen:
            continue
        seen.add(id(row))
        out.append((row, depth))
        stack += [(r, depth + 1) for r in reversed(parts.get(row.get(key), []))]
    # A cycle has no root: its rows come last, unindented, rather than not at all.
    out += [(r, 0) for r in group if id(r) not in seen]
    return out
