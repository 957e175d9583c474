"""`bazhong-accounts diff OLD_DIR NEW_DIR`: what changed in the data between two package dirs.

Per resource: rows added, removed and changed, matched by primary key, changed cells shown
old → new; resources added or removed; columns added, removed or retyped. The output is
Markdown so a pull-request workflow can post it as is. It is a report: exit status 0 whether
or not anything changed (1 only when a directory is not a data package).

Cells are compared as text, except `number` columns, compared as decimals (675.70 == 675.7).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import fail
from ..model.descriptor import read_descriptor, read_schema
from ..model.typing import CellError, cell_parser


@dataclass
class TableDiff:
    name: str
    key: list[str]
    added: list[dict] = field(default_factory=list)  # whole rows of NEW
    removed: list[dict] = field(default_factory=list)  # whole rows of OLD
    changed: list[tuple[tuple, str, str, str]] = field(default_factory=list)  # key, column, old, new
    columns_added: list[tuple[str, str]] = field(default_factory=list)  # name, type
    columns_removed: list[tuple[str, str]] = field(default_factory=list)
    columns_retyped: list[tuple[str, str, str]] = field(default_factory=list)  # name, old, new
    notes: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.columns_added
                    or self.columns_removed or self.columns_retyped or self.notes)

    def rows_changed(self) -> int:
        return len({k for k, *_ in self.changed})


@dataclass
class PackageDiff:
    resources_added: list[str]
    resources_removed: list[str]
    tables: list[TableDiff]


def _package(root: Path) -> dict:
    """name -> (table schema, csv path) of a package directory."""
    return {r["name"]: (read_schema(root, r) if "schema" in r else {"fields": []}, root / r["path"])
            for r in read_descriptor(root)["resources"]}


def _rows(csv_path: Path) -> list[dict] | None:
    if not csv_path.is_file():
        return None
    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _parser(field: dict):
    """The field's cell parser (model.typing), None for strings: compared as text."""
    return None if field.get("type", "string") == "string" else cell_parser(field)


def _same(a: str, b: str, parse) -> bool:
    """Equal text, or equal values under the type's grammar (model.typing: 675.70 is 675.7); a
    cell that is not of its type (6.757e2) is compared as text."""
    if a == b:
        return True
    if parse is None or not a or not b:
        return False
    try:
        return parse(a) == parse(b)
    except CellError:
        return False


def diff_table(name: str, old: tuple[dict, Path], new: tuple[dict, Path]) -> TableDiff:
    old_schema, old_csv = old
    new_schema, new_csv = new
    old_types = {f["name"]: f.get("type", "string") for f in old_schema["fields"]}
    new_types = {f["name"]: f.get("type", "string") for f in new_schema["fields"]}
    parsers = {f["name"]: _parser(f) for f in new_schema["fields"]}
    key = new_schema.get("primaryKey") or []
    key = [key] if isinstance(key, str) else list(key)
    d = TableDiff(name, key)
    d.columns_added = [(n, t) for n, t in new_types.items() if n not in old_types]
    d.columns_removed = [(n, t) for n, t in old_types.items() if n not in new_types]
    d.columns_retyped = [(n, old_types[n], t) for n, t in new_types.items()
                         if n in old_types and old_types[n] != t]

    old_rows, new_rows = _rows(old_csv), _rows(new_csv)
    if old_rows is None or new_rows is None:
        d.notes.append(f"no CSV in the {'old' if old_rows is None else 'new'} package "
                       f"({(old_csv if old_rows is None else new_csv).name}); rows not compared")
        d.added = new_rows if old_rows is None and new_rows else []
        d.removed = old_rows if new_rows is None and old_rows else []
        return d
    if not key or any(k not in old_types for k in key):
        d.notes.append("primary key missing or changed; rows not compared")
        return d

    def index(rows):
        return {tuple(r.get(k, "") for k in key): r for r in rows}

    old_by_key, new_by_key = index(old_rows), index(new_rows)
    for label, rows, by_key in (("old", old_rows, old_by_key), ("new", new_rows, new_by_key)):
        if len(by_key) < len(rows):
            d.notes.append(f"duplicate primary keys in the {label} CSV; the last row of each is compared")
    d.added = [r for k, r in new_by_key.items() if k not in old_by_key]
    d.removed = [r for k, r in old_by_key.items() if k not in new_by_key]
    common = [n for n in new_types if n in old_types]
    for k, new_row in new_by_key.items():
        old_row = old_by_key.get(k)
        if old_row is None:
            continue
        for col in common:
            a, b = old_row.get(col, ""), new_row.get(col, "")
            if not _same(a, b, parsers[col]):
                d.changed.append((k, col, a, b))
    return d


def diff_packages(old_dir, new_dir) -> PackageDiff:
    old, new = _package(Path(old_dir)), _package(Path(new_dir))
    return PackageDiff(
        resources_added=[n for n in new if n not in old],
        resources_removed=[n for n in old if n not in new],
        tables=[diff_table(n, old[n], new[n]) for n in new if n in old],
    )


# ---------------------------------------------------------------- Markdown

def _md(text: str, limit: int | None = None) -> str:
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ").replace("|", "\\|")
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text if text else "(empty)"


def _key(row_or_key, key: list[str]) -> str:
    values = row_or_key if isinstance(row_or_key, tuple) else tuple(row_or_key.get(k, "") for k in key)
    return "`" + " / ".join(values) + "`"


def _row_summary(row: dict, key: list[str]) -> str:
    cells = [f"{c}={_md(v, 60)}" for c, v in row.items() if c not in key and v]
    return "; ".join(cells)


def render(d: PackageDiff, old_label: str, new_label: str) -> str:
    out = [f"## Data changes: `{old_label}` → `{new_label}`", ""]
    changed = [t for t in d.tables if not t.empty()]
    if not (changed or d.resources_added or d.resources_removed):
        return "\n".join(out + ["No differences.", ""])
    for n in d.resources_added:
        out.append(f"- Resource added: `{n}`")
    for n in d.resources_removed:
        out.append(f"- Resource removed: `{n}`")
    if d.resources_added or d.resources_removed:
        out.append("")
    if changed:
        out += ["| resource | rows added | rows removed | rows changed | cells changed | columns |",
                "|---|---:|---:|---:|---:|---|"]
        for t in changed:
            cols = ", ".join([f"+{n}" for n, _ in t.columns_added] + [f"-{n}" for n, _ in t.columns_removed]
                             + [f"{n}: {a}→{b}" for n, a, b in t.columns_retyped])
            out.append(f"| {t.name} | {len(t.added)} | {len(t.removed)} | {t.rows_changed()} | "
                       f"{len(t.changed)} | {cols} |")
        out.append("")
    for t in changed:
        out += [f"### {t.name}", ""]
        for note in t.notes:
            out.append(f"Note: {note}.")
        for n, ftype in t.columns_added:
            out.append(f"- Column added: `{n}` ({ftype})")
        for n, ftype in t.columns_removed:
            out.append(f"- Column removed: `{n}` ({ftype})")
        for n, a, b in t.columns_retyped:
            out.append(f"- Column type changed: `{n}` {a} → {b}")
        if t.notes or t.columns_added or t.columns_removed or t.columns_retyped:
            out.append("")
        key_names = " / ".join(t.key)
        if t.added:
            out += [f"Rows added ({key_names}):", ""]
            out += [f"- {_key(r, t.key)}: {_row_summary(r, t.key)}" for r in t.added] + [""]
        if t.removed:
            out += [f"Rows removed ({key_names}):", ""]
            out += [f"- {_key(r, t.key)}: {_row_summary(r, t.key)}" for r in t.removed] + [""]
        if t.changed:
            out += ["Cells changed:", "", f"| {key_names} | column | old | new |", "|---|---|---|---|"]
            out += [f"| {_key(k, t.key)} | {c} | {_md(a)} | {_md(b)} |" for k, c, a, b in t.changed]
            out.append("")
    return "\n".join(out)


def run(args) -> int:
    for label in (args.old_dir, args.new_dir):
        if not (Path(label) / "datapackage.json").is_file():
            fail(f"{label}: no datapackage.json there")
    try:
        d = diff_packages(args.old_dir, args.new_dir)
    except (ValueError, KeyError) as exc:  # unreadable descriptor, schema or CSV
        fail(str(exc))
    print(render(d, args.old_dir, args.new_dir))
    return 0
