"""Where the data package lives: the checkout when run from one, else the copy inside the wheel."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parent.parent  # src/bazhong_accounts -> repository root


def package_dir() -> Path:
    """Directory holding datapackage.json, data/, schemas/ and archive/."""
    installed = _HERE / "package_data"
    if (installed / "datapackage.json").is_file():
        return installed
    return _CHECKOUT
