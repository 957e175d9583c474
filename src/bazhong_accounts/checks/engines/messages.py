"""The words of each failing row an engine returns: the pandas validator's own message functions
(model/typing.py, checks/pandera_checks.py), called only for the rows that fail, so a problem
reads the same whatever the engine."""

from __future__ import annotations

from functools import lru_cache

from ...model.typing import cell_problem, pattern_of

# kinds -> the pandera check name describe() words them by
_PANDERA = {"required": "not_nullable", "pattern": "str_matches", "enum": "isin", "range": "in_range",
            "length": "str_length"}


@lru_cache(maxsize=4096)
def _type_message(field_key: tuple, value: str) -> str:
    field = dict(field_key)
    field["constraints"] = dict(field["constraints"])
    return cell_problem(field, value)


def _hashable(field: dict) -> tuple:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in field.items()
                 if k in ("type", "trueValues", "falseValues")) + (("constraints", (("pattern", pattern_of(field)),)),)


def cell_message(kind: str, field: dict, value: str) -> str:
    if kind == "type":
        return _type_message(_hashable(field), value)
    from ..pandera_checks import describe  # pandera takes a second to import: only when a cell fails

    return describe(_PANDERA[kind], field["name"], value, field)


def foreign_key_message(fk: dict, resource: str, shown: str, last: str) -> str:
    from ...model.descriptor import as_list

    ref = fk["reference"]
    rname = ref.get("resource") or resource
    rfields = as_list(ref["fields"])
    return (f"unknown {rfields[-1]} {last}: no row of {rname} has ({', '.join(rfields)}) = ({shown})")


def primary_key_message(pk: list[str], shown: str, others: list[int]) -> str:
    return (f"duplicate primary key ({', '.join(pk)}) = ({shown}); also on line "
            + ", ".join(str(x) for x in others))
