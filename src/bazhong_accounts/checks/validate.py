"""`bazhong-accounts validate [DIR]`: every check of the package, all problems in one run.

Checks, in order (each file is read once; later checks skip what earlier ones found broken):

a. files: encoding, BOM, line ends, empty/binary/JSON files, ragged rows, header vs schema,
   resources whose file is missing, CSVs under data/ no resource lists, canonical form (`fmt`);
b. structure (what frictionless checks), column-wise: types, primary keys, foreign keys;
c. pandera schemas from the Table Schemas (constraints) plus dataframe-level checks;
d. accounting identities, exact, with errata for the breaks of the source itself;
e. provenance: archived sources and checksums, quotes, numbers in quotes, derived rows;
f. figure sources: every figure cell located in the report, every number of the report accounted for.

Output: one ``path:line: column: message`` per problem, ``known: …`` per erratum-covered break,
then a summary line; exit 1 on any problem. With GITHUB_ACTIONS=true also ``::error`` lines.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from contextlib import contextmanager
from itertools import chain, islice
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import UserError
from ..model.problems import Problem, Report
from .package import Result, _guard, _load_package, report_unlisted_csvs


def collect(root: str | Path, with_frictionless: bool = False) -> Result:
    """Every check on the package in `root`. Python's cyclic garbage collector is paused meanwhile:
    the checks make millions of small objects and no cycles, and its scans cost a third of a run."""
    gc.disable()
    try:
        return _collect(Path(root), with_frictionless)
    finally:
        gc.enable()


def _one_file(root: Path, resource: tuple) -> tuple[Report, object]:
    """Checks (a) and the typing of (b) for one resource, on its own report: files are
    independent, and Arrow and pandas release the GIL, so they run side by side in threads."""
    from .canonical import check_canonical
    from .files import read_table
    from ..model.typing import parse_types

    name, rel, schema, schema_path = resource
    report = Report()
    t = _guard(report, f"file ({rel})", read_table, root, name, rel, schema, schema_path, report)
    if t is not None:
        _guard(report, f"type ({rel})", parse_types, t, report)
        _guard(report, f"canonical form ({rel})", check_canonical, t, report)
    return report, t


def _collect(root: Path, with_frictionless: bool) -> Result:
    from . import structure as checks_structure
    from . import identities
    from . import figure_sources, provenance
    from .pandera_checks import check_pandera

    result = Result()
    report = result.report
    resources = _load_package(root, result)
    if resources is None:
        return result
    tables = result.tables

    # a. files, and the types of b, a thread per file (biggest first)
    biggest = sorted(resources, key=lambda r: -((root / r[1]).stat().st_size if (root / r[1]).is_file() else 0))
    with ThreadPoolExecutor(max(2, min(4, os.cpu_count() or 2))) as pool:
        done = dict(zip([r[0] for r in biggest], pool.map(lambda r: _one_file(root, r), biggest)))
    for name, *_ in resources:  # merged in datapackage order: the same output every run
        part, t = done[name]
        report.problems += part.problems
        report.cells |= part.cells
        if t is not None:
            tables[name] = t
    report_unlisted_csvs(root, resources, report)

    # b. keys
    names = {name for name, _, _, _ in resources}
    for t in tables.values():
        _guard(report, f"primary key ({t.path})", checks_structure.check_primary_key, t, report)
        _guard(report, f"foreign key ({t.path})", checks_structure.check_foreign_keys, t, tables, report)
    if with_frictionless:
        _guard(report, "frictionless", run_frictionless, root, tables, report)

    # c. pandera
    for t in tables.values():
        _guard(report, f"pandera ({t.path})", check_pandera, t, report)

    # d. identities, e. provenance
    _guard(report, "identities", identities.check_identities, tables, names, report)
    _guard(report, "provenance", provenance.check_provenance, root, tables, names, report)
    # f. every figure located in the report, every number of the report accounted for
    result.numbers = _guard(report, "figure sources", figure_sources.check, root, tables, report) or (0, 0, 0)
    return result


def run_frictionless(root: Path, tables: dict, report: Report) -> None:
    """Cross-check: frictionless itself on the package; its errors that name a cell we have not
    reported are added (rowNumber mapped to the physical line)."""
    from frictionless import Package

    fr = Package(str(root / "datapackage.json")).validate()
    by_name = {t.name: t for t in tables.values()}
    for task in fr.tasks:
        t = by_name.get(task.name)
        path = t.path if t else (task.place or task.name)
        for err in task.errors:
            row = getattr(err, "row_number", None)
            line = row
            if t is not None and row is not None and 0 <= row - 2 < len(t.lines):
                line = int(t.lines[row - 2])
            col = getattr(err, "field_name", None) or (getattr(err, "field_names", None) or [None])[-1]
            report.add(path, line, col, f"frictionless {err.type}: {err.note or err.message}", dedupe=True)


def check(root: str | Path) -> list[Problem]:
    """The problems of a package directory (empty when it validates); for `build`."""
    return collect(root).report.sorted({})


def _write_lines(problems: list[Problem], known: list[Problem]) -> None:
    """Each problem, then each known erratum (and GitHub's annotations of both), a line each,
    written 10,000 at a time (memory bounded, and not a call per line)."""
    _write_chunked(str(p) for p in problems)
    if hasattr(known, "write_to"):  # an SQL engine's known errata, worded while its checks ran
        known.write_to(sys.stdout)
    else:
        _write_chunked(f"known: {p}" for p in known)
    if os.environ.get("GITHUB_ACTIONS") == "true":  # GitHub turns these into annotations
        _write_chunked(chain((p.annotation("error") for p in problems), (p.annotation("notice") for p in known)))


def _write_chunked(lines) -> None:
    while chunk := list(islice(lines, 10000)):
        sys.stdout.write("\n".join(chunk) + "\n")


def _print(result: Result) -> int:
    """The problems, the known errata, the summary line; exit status 1 on any problem."""
    report = result.report
    problems = report.sorted(result.order)
    known = report.sorted_known(result.order)
    out: list[str] = []  # the lines after the problems, which are written one by one (below)
    n_rows = getattr(result, "rows", None) or sum(len(t) for t in result.tables.values())
    errata_note = f"{len(known)} known errata" if known else "no known errata"
    accounted, found, unlocated = result.numbers
    if found:
        out.append(f"numbers in the report: {accounted} of {found} accounted for "
                   f"({accounted * 100 // found} %)"
                   + (f"; {unlocated} report(s) not located yet (no figure_sources rows)" if unlocated else ""))
    if problems:
        out.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}, {errata_note}"
                   + (" (see data/errata.csv)" if known else ""))
    else:
        out.append(f"OK: {result.resources} resources, {n_rows} rows, {errata_note}")
    _write_lines(problems, known)  # not one joined string: 500,000 known errata at N = 100,000
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    return 1 if problems else 0


@contextmanager
def _sigterm_exits():
    """SIGTERM (kill, timeout) ends the run as Ctrl-C does, through the engine's clean-up (its
    spill directory removed) rather than at once; the handler before is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def run(args) -> int:
    try:
        engine = getattr(args, "engine", "pandas")
        if engine != "pandas":  # SQL engines: checks/engines/
            from . import engines
            engine = engines.choose(args.dir, engine)
        if engine != "pandas":
            with _sigterm_exits(), engines.checked(args.dir, engine) as result:  # known errata stream from it
                engines.print_note()
                return _print(result)
        return _print(collect(args.dir, with_frictionless=getattr(args, "frictionless", False)))
    except (BrokenPipeError, UserError):  # UserError: main() prints it (an engine not installed)
        raise
    except Exception as e:  # noqa: BLE001 - a clear message and exit 1, never a traceback
        # the problems are the output (stdout); this line is not one of them
        print(f"bazhong-accounts: error: validate: internal error: {type(e).__name__}: {e} (please report)",
              file=sys.stderr)
        return 1
