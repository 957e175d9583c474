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


def key_problems(schema: dict) -> list[tuple[str, str]]:
    """(field, message) for each field the schema's primaryKey or one of its foreignKeys names
    that is not one of its fields: a key checked over a column the schema lacks would fail inside
    the checks (KeyError) rather than say what is wrong."""
    names = {f.get("name") for f in schema.get("fields", [])}
    out = [(k, f"primaryKey names `{k}`, not a field of the schema: the key checks of this resource are skipped")
           for k in as_list(schema.get("primaryKey")) if k not in names]
    for fk in schema.get("foreignKeys", []):
        out += [(k, f"a foreign key names `{k}`, not a field of the schema: that foreign key is not checked")
                for k in as_list(fk.get("fields")) if k not in names]
    return out


def with_usable_keys(schema: dict) -> dict:
    """The schema without the keys key_problems finds wrong: the primaryKey if it names a field
    the schema lacks, and each such foreign key; every other check runs as usual."""
    missing = {field for field, _ in key_problems(schema)}
    out = dict(schema)
    if missing & set(as_list(schema.get("primaryKey"))):
        out.pop("primaryKey")
    if "foreignKeys" in schema:
        out["foreignKeys"] = [fk for fk in schema["foreignKeys"] if not missing & set(as_list(fk.get("fields")))]
    return out
