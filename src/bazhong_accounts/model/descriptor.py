"""Where the data package lives: the checkout when run from one, else the copy inside the wheel."""

import json
from pathlib import Path

_HERE = Path(__file__).resolve().parent.parent  # src/bazhong_accounts
_CHECKOUT = _HERE.parent.parent  # -> repository root


def package_dir() -> Path:
    """Directory holding datapackage.json, data/, schemas/ and archive/."""
    installed = _HERE / "package_data"
    if (installed / "datapackage.json").is_file():
        return installed
    return _CHECKOUT


def read_descriptor(root: str | Path) -> dict:
    """datapackage.json of the package directory `root`."""
    return json.loads((Path(root) / "datapackage.json").read_text(encoding="utf-8"))


def read_schema(root: str | Path, resource: dict) -> dict:
    """A resource's Table Schema: inline in datapackage.json, or the JSON file it names."""
    schema = resource["schema"]
    if isinstance(schema, str):
        schema = json.loads((Path(root) / schema).read_text(encoding="utf-8"))
    return schema


def as_list(v) -> list:
    """A Table Schema key, "a" or ["a", "b"], as a list; no key -> []."""
    return [] if v is None else [v] if isinstance(v, str) else list(v)


def key_problems(schema: dict, resource: str, schemas: dict[str, dict | None]) -> list[tuple[str | None, str]]:
    """(field, message) for each key of the schema that cannot be checked: its primaryKey or a
    foreign key naming a field the schema lacks, or a foreign key whose reference is not usable
    (no reference fields, not as many as its own fields, a resource datapackage.json does not
    list, a field the referenced schema lacks). A key checked over a column that is not there
    would fail inside the checks (KeyError, an SQL binder error) or pass in silence.
    resource: the schema's own resource (a reference to "" is to it); schemas: every resource of
    datapackage.json -> its schema, None when it could not be read (its own problem is said)."""
    return [(field, message) for _, field, message in _unusable_keys(schema, resource, schemas) if message]


def with_usable_keys(schema: dict, resource: str, schemas: dict[str, dict | None]) -> dict:
    """The schema without the keys key_problems finds wrong, nor a foreign key to a resource
    whose schema could not be read; every other check runs as usual."""
    dropped = {key for key, _, _ in _unusable_keys(schema, resource, schemas)}
    out = dict(schema)
    if "pk" in dropped:
        out.pop("primaryKey")
    if "foreignKeys" in schema:
        out["foreignKeys"] = [fk for n, fk in enumerate(schema["foreignKeys"]) if n not in dropped]
    return out


def _unusable_keys(schema: dict, resource: str, schemas: dict[str, dict | None]
                   ) -> list[tuple[str | int, str | None, str | None]]:
    """(which key: "pk" or the foreign key's index, the field to name, the message or None:
    left out without a word)."""
    names = _field_names(schema)
    out: list[tuple[str | int, str | None, str | None]] = []
    if not _names(schema.get("primaryKey")):
        out.append(("pk", None, "primaryKey must be a field name or a list of field names: "
                                "the key checks of this resource are skipped"))
    else:
        out += [("pk", k, f"primaryKey names `{k}`, not a field of the schema: "
                          "the key checks of this resource are skipped")
                for k in as_list(schema.get("primaryKey")) if k not in names]
    for n, fk in enumerate(schema.get("foreignKeys", [])):
        reference = fk.get("reference") if isinstance(fk, dict) else None
        if not (isinstance(fk, dict) and _names(fk.get("fields"))
                and (not isinstance(reference, dict) or _names(reference.get("fields")))):
            out.append((n, None, "a foreign key's `fields` and `reference.fields` must each be a field name "
                                 "or a list of field names: that foreign key is not checked"))
        elif missing := [k for k in as_list(fk.get("fields")) if k not in names]:
            out += [(n, k, f"a foreign key names `{k}`, not a field of the schema: that foreign key is not checked")
                    for k in missing]
        else:
            out += [(n, field, message) for field, message in _reference_problems(fk, resource, schemas)]
    return out


def _reference_problems(fk: dict, resource: str, schemas: dict[str, dict | None]
                        ) -> list[tuple[str | None, str | None]]:
    """(field, message) for what makes the foreign key's reference impossible to check."""
    fields = as_list(fk.get("fields"))
    reference = fk.get("reference")
    rfields = as_list(reference.get("fields")) if isinstance(reference, dict) else []
    last = fields[-1] if fields else None  # the column the data's own messages name
    if not fields or not rfields:
        return [(last, "a foreign key needs `fields` and `reference.fields`: that foreign key is not checked")]
    if len(fields) != len(rfields):
        return [(last, f"a foreign key names {_fields(len(fields))} and its reference {_fields(len(rfields))}: "
                       "that foreign key is not checked")]
    rname = _referenced(fk, resource)
    if rname not in schemas:
        return [(last, f"a foreign key refers to `{rname}`, not a resource of datapackage.json: "
                       "that foreign key is not checked")]
    target = schemas[rname]
    if target is None:  # the referenced schema could not be read, and says so itself
        return [(last, None)]
    theirs = _field_names(target)
    return [(own, f"a foreign key refers to `{ref}` of `{rname}`, not a field of its schema: "
                  "that foreign key is not checked")
            for own, ref in zip(fields, rfields) if ref not in theirs]


def _referenced(fk: dict, resource: str) -> str:
    """The resource a foreign key refers to: "" (or none given) is the schema's own."""
    reference = fk.get("reference")
    return (reference.get("resource") if isinstance(reference, dict) else None) or resource


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"


def _names(value) -> bool:
    """A key's fields as a schema may give them: none, a field name, or a list of field names
    (anything else, say 42, would fail inside as_list and the checks)."""
    return value is None or isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value))


def _field_names(schema: dict) -> set:
    return {f.get("name") for f in schema.get("fields", [])}
