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
