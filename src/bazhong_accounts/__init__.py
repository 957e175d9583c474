"""Bazhong department final accounts (部门决算) as a validated Frictionless Data Package.

`__version__` is the data version: it equals `version` in datapackage.json.
"""

__version__ = "0.1.0"
