"""What each column of a resource is for, as its Table Schema declares it.

Every field carries a custom property ``role`` (Table Schema allows custom properties), and every
schema a ``rowLabel`` naming the field that labels a row for a reader. The validator, the site
build, the metadata and queries, the benchmarks and the tests ask this module, never a list of
column names.

Roles:

- ``scope``: which department-year the row belongs to (fiscal_year, department).
- ``identifier``: names a row or refers to one (item_id, code, parent_code, project_id, …).
- ``ordinal``: a position as printed (row_no, term_no, trip_no, meeting_no); not a figure.
- ``figure``: a number printed in the report (or derived from printed ones by a stated rule).
- ``category``: a value people filter by (level, breakdown, kind, unit, …); not a figure.
- ``label``: a name as printed, or its English rendering.
- ``text``: longer text of the report (reasons, goals, definitions, explanations).
- ``provenance``: where the row comes from (source_id, source_section, source_quote, derived,
  derivation, quotes of errata).
- ``attribute``: any other value (dates, file paths, checksums).
"""

from __future__ import annotations

from typing import Any

from .descriptor import as_list

ROLES = ("scope", "identifier", "ordinal", "figure", "category", "label", "text", "provenance", "attribute")
# Roles whose text the site's full-text search indexes.
SEARCHED = ("label", "text", "provenance")

Schema = dict[str, Any]


def role(field: dict) -> str:
    """The field's role; KeyError naming the field when the schema declares none."""
    try:
        return field["role"]
    except KeyError:
        raise KeyError(f"field `{field.get('name')}` has no `role` in its Table Schema") from None


def with_role(schema: Schema, *roles: str) -> list[str]:
    """Names of the fields having one of `roles`, in schema order."""
    return [f["name"] for f in schema["fields"] if f.get("role") in roles]


def figures(schema: Schema) -> list[str]:
    """Columns holding figures of the report."""
    return with_role(schema, "figure")


def row_key_fields(schema: Schema) -> list[str]:
    """The primary-key fields that name a row within its department-year (the key without its
    scope fields): ``["project_id", "row_no"]`` for project_kpis, ``["code"]`` for classification.
    A resource keyed by scope fields alone (departments) is named by them."""
    pk = as_list(schema.get("primaryKey"))
    scope = set(with_role(schema, "scope"))
    return [k for k in pk if k not in scope] or pk


ROW_KEY_SEPARATOR = "|"


def row_key(schema: Schema, row: dict) -> str:
    """The row's key as text, key fields joined with ``|`` (``cloud|7``): how errata,
    figure_sources and the site's search hits name a row."""
    return ROW_KEY_SEPARATOR.join(str(row[k]) for k in row_key_fields(schema))


def row_label(schema: Schema) -> str:
    """The field that labels a row for a reader (``name_zh`` mostly)."""
    return schema["rowLabel"]


def scope(schema: Schema) -> list[str]:
    """The department-year fields of a row (fiscal_year, department)."""
    return with_role(schema, "scope")


def foreign_keys(schema: Schema) -> list[tuple[list[str], str, list[str]]]:
    """(fields, target resource, target fields) of each foreign key; resource "" is the table itself."""
    refs = [(fk, fk.get("reference", {})) for fk in schema.get("foreignKeys", [])]
    return [(as_list(fk["fields"]), ref.get("resource", ""), as_list(ref.get("fields"))) for fk, ref in refs]


def parent_links(schema: Schema) -> list[tuple[str, str]]:
    """(parent field, the key field it refers to) of each self-referencing foreign key:
    ``[("parent_item_id", "item_id")]`` for income. A row's parts have it as their parent."""
    return [(field, target) for fields, resource, targets in foreign_keys(schema) if resource == ""
            for field, target in zip(fields, targets, strict=False)]


def main_figure(schema: Schema) -> str | None:
    """The figure a row's parts add up to and a derivation computes: the first figure in schema
    order (amount, value, budget); None for a resource without figures."""
    found = figures(schema)
    return found[0] if found else None


def searched(schema: Schema) -> list[str]:
    """String columns the full-text search indexes: labels, texts and provenance."""
    return [f["name"] for f in schema["fields"]
            if f.get("role") in SEARCHED and f.get("type", "string") == "string"]


def facets(schema: Schema) -> list[str]:
    """Columns people filter by: the department-year and categories, without the English twin of a
    Chinese category (unit_en beside unit_zh: the same choice twice)."""
    found = with_role(schema, "scope", "category")
    return [c for c in found if not (c.endswith("_en") and c[:-3] + "_zh" in found)]


def problems(schema: Schema) -> list[tuple[str | None, str]]:
    """What is wrong with the role declarations of one Table Schema: (field or None, message)."""
    out: list[tuple[str | None, str]] = []
    names = [f.get("name") for f in schema.get("fields", [])]
    for f in schema.get("fields", []):
        r, name = f.get("role"), f.get("name")
        if r is None:
            out.append((name, f"field has no `role`; give it one of: {', '.join(ROLES)}"))
        elif r not in ROLES:
            out.append((name, f"unknown role `{r}`; use one of: {', '.join(ROLES)}"))
        elif r == "figure" and f.get("type") not in ("number", "integer"):
            out.append((name, f"a figure must be a number or an integer, not {f.get('type', 'string')}"))
    label = schema.get("rowLabel")
    if label is None:
        out.append((None, "no `rowLabel`: name the field that labels a row (e.g. name_zh)"))
    elif label not in names:
        out.append((None, f"rowLabel `{label}` is not a field of the schema"))
    return out
