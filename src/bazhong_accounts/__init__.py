"""Bazhong department final accounts (部门决算) as a validated Frictionless Data Package.

`__version__` is the data version: it equals `version` in datapackage.json.

    import bazhong_accounts as ba
    ba.resources()                       # name, title, rows
    df = ba.load("income")               # typed DataFrame; money as exact decimal.Decimal
    ba.path("income")                    # pathlib.Path of data/income.csv
    ba.package()                         # frictionless.Package
"""

__version__ = "0.3.0"

from .consumers.api import load, package, path, resources  # noqa: E402  (after __version__: hatch reads it)

__all__ = ["__version__", "load", "package", "path", "resources"]
