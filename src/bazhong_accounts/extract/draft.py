"""What an outline parser returns: the draft rows of one report, the place of every figure in the
archived text, and the breaks a person must review. Both outlines (the narrative Sichuan outline
and the table-first outline) produce a `Draft`; `extract.package` writes it as a package."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Span:
    """One printed occurrence of a figure: text[start:end] == printed (0-based, end exclusive)."""

    resource: str
    row_key: str  # the row's key fields other than fiscal_year/department, joined with "|"
    column: str
    start: int
    end: int
    printed: str


@dataclass
class Break:
    """An inconsistency of the report for a person to confirm (then an `errata` row)."""

    resource: str
    row_key: str
    column: str
    check: str  # e.g. text_table_mismatch, sum_of_children, share
    value_carried: str  # what the draft carries
    value_other: str  # what the other place or rule gives
    where: str  # where in the report, in words (section, table, line)


@dataclass
class Draft:
    text: str  # the archived text the offsets refer to (decoded UTF-8)
    department: str  # department id, e.g. bazhong-govt-office
    fiscal_year: int
    source_id: str
    # resource -> rows; each row maps every column of the resource's Table Schema to its CSV text
    # ("" when empty), money as printed in 万元
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)
    department_name_zh: str = ""
    region_zh: str = ""
