"""Datasette plugin of the site, registered by the `datasette` entry point in pyproject.toml.

Installing the package installs the plugin into every Datasette of the environment, so each hook
acts only where a database this package built is served (the build's stamp, see marker.py);
anywhere else Datasette behaves as it does without the plugin.

- exact money: SQL sum()/total() add exactly (integers of hundredths, else Decimal), so
  `select sum(amount) ...` shows 2351.13;
- /robots.txt disallowing everything (Datasette 0.65 has none);
- /archive/<file>: the archived source text, the site's `source_url`;
- the chart list (charts.json written by the build) for the /charts page;
- /report/<source_id>, the annotated report, and links from cells to it (site/report.py).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal, InvalidOperation
from itertools import repeat
from operator import mul, truediv
from pathlib import Path

from datasette import hookimpl
from datasette.utils.asgi import Response

from ..model.descriptor import package_dir, read_descriptor
from .marker import file_is_ours, is_ours
from .report import ROUTE as REPORT_ROUTE, render_cell  # noqa: F401  (render_cell: a hook pluggy finds here)
from .serve import PACKAGE_DIR_ENV


ZERO = Decimal(0)


def _decimal(v) -> Decimal | None:
    """SQLite value as Decimal: floats via repr (their shortest round-trip form); text that is not a
    number counts as 0, as in SQLite's own sum()."""
    if v is None:
        return None
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, bytes):
        return Decimal(0)
    try:
        d = Decimal(str(v).strip())
        return d if d.is_finite() else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


# A REAL below this adds as an integer of hundredths: there a double is at most 2^-9 from its
# neighbours, so no two numbers of two decimals share one, and value * 100 is exact to 1/16.
FAST_BELOW = 1e13


class DecimalSum:
    """sum(x): NULL when no non-NULL value; an int when the total is integral, else a float whose
    repr is the exact decimal total.

    Why not Decimal for every row: the database's figures are REALs of at most two decimals (the
    schemas' decimalPlaces), and for those `round(v * 100)` is the printed number in hundredths,
    exactly when `n / 100 == v` (v is then the double nearest to n/100, which no other two-decimal
    number below FAST_BELOW shares). Adding Python ints is several times cheaper than Decimals;
    any other value (more decimals, huge, text, NULL) sends the whole group to the Decimal path.

    Why `step` is the list's own append: sqlite3 looks `step` up on the instance for every row, and
    a C method runs without a Python frame; the arithmetic then runs in C-level map()s at the end
    (50,000 two-decimal REALs: 31 -> 19 ms in process). The cost: the group's values are held until the end
    (about 32 bytes a row)."""

    def __init__(self):
        self.values: list = []
        self.step = self.values.append

    def exact_total(self) -> Decimal | None:
        values = self.values
        try:
            if not values or -FAST_BELOW < min(values) and max(values) < FAST_BELOW:
                hundredths = list(map(round, map(mul, values, repeat(100))))
                if list(map(truediv, hundredths, repeat(100))) == values:
                    return Decimal(sum(hundredths)).scaleb(-2) if values else None
        except (TypeError, ValueError, OverflowError):  # NULL, text or bytes among them
            pass
        return self._slow_total()

    def _slow_total(self) -> Decimal | None:
        """Row by row: two-decimal REALs and INTEGERs as ints, the rest as Decimals."""
        hundredths, integers, rest = 0, 0, None
        for value in self.values:
            if value.__class__ is int:
                integers += value
                rest = rest or ZERO  # a non-NULL value was seen
                continue
            if value.__class__ is float and -FAST_BELOW < value < FAST_BELOW:
                n = round(value * 100)
                if n / 100 == value:
                    hundredths += n
                    rest = rest or ZERO
                    continue
            d = _decimal(value)
            if d is not None:
                rest = d if rest is None else rest + d
        return None if rest is None else rest + Decimal(hundredths).scaleb(-2) + integers

    def finalize(self):
        total = self.exact_total()
        if total is None:
            return None
        return int(total) if total == total.to_integral_value() else float(total)


class DecimalTotal(DecimalSum):
    """total(x): like sum() but always a float, as SQLite documents. One difference from the
    builtin: over no rows at all it gives NULL, not 0.0 (Python's sqlite3 never calls finalize
    then); over rows that are all NULL it gives 0.0."""

    def finalize(self):
        total = self.exact_total()
        return float(total) if total is not None else 0.0


def register_exact_sum(conn) -> None:
    conn.create_aggregate("sum", 1, DecimalSum)
    conn.create_aggregate("total", 1, DecimalTotal)


@hookimpl
def prepare_connection(conn, database, datasette):
    """Exact sum()/total() on our databases only; `database` is just a name, the stamp decides."""
    if is_ours(conn):
        register_exact_sum(conn)


def serves_ours(datasette) -> bool:
    """True when at least one database Datasette serves is a file this package built."""
    return any(db.path and file_is_ours(db.path) for db in datasette.databases.values())


async def robots_txt():
    return Response.text("User-agent: *\nDisallow: /\n")


async def archive(request):
    """Serve only the archived sources datapackage.json lists (no path tricks possible)."""
    root = Path(os.environ.get(PACKAGE_DIR_ENV) or package_dir())
    name = request.url_vars["name"]
    listed = {Path(s.get("path", "")).name: s["path"] for s in read_descriptor(root).get("sources", [])}
    if name not in listed or not (root / listed[name]).is_file():
        return Response.text("Not found", status=404)
    return Response.text((root / listed[name]).read_text(encoding="utf-8"))


# (regex, view) pairs, served only next to a database of ours
ROUTES = [(r"^/robots\.txt$", robots_txt), (r"^/archive/(?P<name>[^/]+)$", archive), REPORT_ROUTE]


@hookimpl
def register_routes(datasette):
    """Datasette asks once, when it builds its app, after every database was added."""
    return ROUTES if serves_ours(datasette) else []


@hookimpl
def extra_template_vars(template, datasette):
    """`bazhong_charts`: the chart list from charts.json in the static mount `charts`, or [] when the
    charts were not built (the page then says how to build them)."""
    if template != "pages/charts.html":
        return {}
    for mount, directory in datasette.static_mounts:
        manifest = Path(directory) / "charts.json"
        if mount == "charts" and manifest.is_file():
            return {"bazhong_charts": json.loads(manifest.read_text(encoding="utf-8"))}
    return {"bazhong_charts": []}


def _register_site_modules() -> None:
    """The site's other hook modules (language, search, downloads, report cards, charts), beside this one."""
    from datasette.plugins import pm

    from . import cache, comparison, downloads, draft, i18n, interactive, precompute, report_card, search

    for module in (i18n, search, downloads, report_card, comparison, interactive, draft, cache, precompute):
        if not pm.is_registered(module):
            pm.register(module, name=module.__name__)


_register_site_modules()
