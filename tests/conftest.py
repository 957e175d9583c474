"""Shared test fixtures: a throw-away copy of the data package, the installed command line, and
the site built once per session."""

import contextlib
import csv
import fcntl
import gc
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_PARTS = ("datapackage.json", "data", "schemas", "archive")
BIN = Path(sys.executable).parent  # the venv's console scripts
OWN_SOURCE = ROOT / "archive" / "bazhong-govt-office-2018-final-accounts.txt"  # the report the package holds


# Modules run first, by the first worker (pytest-xdist's worksteal gives each worker a contiguous
# half and lets an idle one take from the end of the other's), so that no worker is still in one of
# them when the other has run out of tests to take: the Spark tests (the JVM started at once, tens
# of seconds of one test that worksteal cannot split), then a few tests that each wait seconds on
# other processes (the README's examples, the wheel's build and install).
FIRST = ("test_engines_spark.py", "test_readme_examples.py", "test_wheel.py")


def pytest_collection_modifyitems(items) -> None:
    # stable: each module's tests and the rest keep their order
    items.sort(key=lambda item: FIRST.index(item.path.name) if item.path.name in FIRST else len(FIRST))


def pytest_collection_finish(session) -> None:
    # The objects of the imports and the collection (alive to the end) are set aside from the cyclic
    # garbage collector's scans, and it runs after 50,000 allocations instead of 700: about 3 % of
    # the tests' CPU time (26.7 -> 25.9 s, mean of 3 runs each, extract, site, export, cli and model tests)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def copy_package_to(dest: Path) -> Path:
    """Copy the package (datapackage.json, data/, schemas/, archive/) of the checkout to dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in PACKAGE_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        else:
            shutil.copy2(src, dest / part)
    return dest


def read_rows(pkg: Path, name: str):
    """(header, rows as dicts, physical line where each row starts) of data/<name>.csv in a copy."""
    with open(pkg / "data" / f"{name}.csv", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows, lines, start = [], [], reader.line_num + 1
        for r in reader:
            rows.append(dict(zip(header, r)))
            lines.append(start)
            start = reader.line_num + 1
    return header, rows, lines


def write_rows(pkg: Path, name: str, header, rows) -> None:
    """Write data/<name>.csv of a copy back in canonical form (UTF-8, LF)."""
    with open(pkg / "data" / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows([[r[h] for h in header] for r in rows])


def run_cli(*args, env=None, timeout=600) -> subprocess.CompletedProcess:
    """`bazhong-accounts ARGS…` as a user runs it: the venv's console script, in a subprocess."""
    return subprocess.run([str(BIN / "bazhong-accounts"), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


@dataclass
class Run:
    """What one command gave: exit code and output, the shape of subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str
    cases: tuple = ()  # the mutation cases broken together in this run (test_validate_mutations.py)


def run_in_process(*args) -> Run:
    """`bazhong-accounts ARGS…` through the CLI's main() in this process: what a subprocess gives,
    without its one to two seconds of start-up (tests that are about the process itself use run_cli)."""
    from bazhong_accounts.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Run(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def collected(checks=None):
    """The list of every Result that checks.collect (validate.collect unless told) returns meanwhile:
    the CLI's validate calls it, so a test that printed a run can look at that run's problems too,
    without validating again. The SQL engines' CLI path reads the engine through checked() (known
    errata streamed): that is what is recorded there, its errata read into a list first."""
    if checks is None:
        from bazhong_accounts.checks import validate as checks

    results = []
    name = "checked" if hasattr(checks, "checked") else "collect"  # engines.collect goes through checked
    original = getattr(checks, name)

    def recorded(*args, **kwargs):
        results.append(original(*args, **kwargs))
        return results[-1]

    @contextlib.contextmanager
    def recorded_checked(*args, **kwargs):
        with original(*args, **kwargs) as result:
            result.report.known = list(result.report.known)  # the stream reads once: for the CLI and the test
            results.append(result)
            yield result

    setattr(checks, name, recorded_checked if name == "checked" else recorded)
    try:
        yield results
    finally:
        setattr(checks, name, original)


@pytest.fixture
def package(tmp_path) -> Path:
    """A fresh copy of the data package, safe to break."""
    return copy_package_to(tmp_path / "package")


@pytest.fixture(scope="session")
def copy_package():
    """copy_package(dest) -> dest: for module- or session-scoped fixtures that need copies."""
    return copy_package_to


@pytest.fixture(scope="session")
def cli():
    """cli(*args, env=None) -> CompletedProcess of the installed `bazhong-accounts`."""
    return run_cli


@pytest.fixture(scope="session")
def root_validation(tmp_path_factory) -> tuple[Run, object]:
    """`bazhong-accounts validate` of the checkout's package, in this process, once per run
    (made_once_shared): (what it printed, the Result of validate.collect it printed)."""
    def validated():
        with collected() as results:
            run = run_in_process("validate", ROOT)
        [result] = results
        return run, result

    return made_once_shared(tmp_path_factory, "root-validation", validated)


@pytest.fixture(scope="session")
def validated_root(root_validation) -> Run:
    return root_validation[0]


@pytest.fixture(scope="session")
def own_source_extracted(tmp_path_factory) -> tuple[Run, Path]:
    """`bazhong-accounts extract` of the package's own source (the narrative outline) into a new
    package, in this process, once per run (made_once): (what it printed, the package). Read it only."""

    def extract(out: Path) -> None:
        run = run_in_process("extract", OWN_SOURCE, "--out", out)
        (out.parent / "extract.json").write_text(json.dumps(asdict(run)), encoding="utf-8")

    out = made_once(tmp_path_factory, "own", "pkg", extract)
    return Run(**json.loads((out.parent / "extract.json").read_text(encoding="utf-8"))), out


@pytest.fixture(scope="session")
def mutation_groups(tmp_path_factory, copy_package):
    """The bad inputs of tests/checks/test_validate_mutations.py, broken and validated once per
    run (made_once_shared: worksteal often gives that module and test_engines.py, which both judge
    them, to different workers; each made them again, 2-3 s of CPU)."""
    from test_validate_mutations import break_together

    return made_once_shared(tmp_path_factory, "mutations", lambda: break_together(tmp_path_factory, copy_package))


@pytest.fixture(scope="session")
def site_db(tmp_path_factory) -> Path:
    """bazhong.db (metadata.json and static/charts/ beside it) built once from the checkout's
    package for every site test; validation is tested on its own. Read it, never change it."""
    from bazhong_accounts.site.build import build_site

    return made_once(tmp_path_factory, "site", "bazhong.db", lambda out: build_site(ROOT, out))


@pytest.fixture(scope="session")
def site_ds(site_db):
    """The site's Datasette on site_db, started, once per worker for every module that asks pages
    of it (its start-up and template compilation cost half a second an instance). Ask it pages;
    never change it (a test that needs a fresh or changed one makes its own)."""
    from site_support import datasette

    return datasette(site_db)


def made_once(tmp_path_factory, folder: str, name: str, make) -> Path:
    """folder/name, made by make(path) once per run: under pytest-xdist by the first worker that
    asks, in the run's shared temporary directory (the others wait for it and read it), alone in
    this session's own temporary directory."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp(folder) / name
        make(out)
        return out
    shared = tmp_path_factory.getbasetemp().parent  # pytest-N/, of this run's workers only
    out, done = shared / folder / name, shared / folder / f".{name}.made"
    with open(shared / f"{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(out.parent, ignore_errors=True)  # a worker that failed half-way
            out.parent.mkdir()
            make(out)
            done.touch()
    return out


def made_once_shared(tmp_path_factory, name: str, make):
    """make()'s value, made once per run: under pytest-xdist by the first worker that asks, the
    others reading a pickle of it (a session fixture is otherwise made again by every worker that
    runs one of its tests). Paths in it stay valid: a worker's temporary directory lasts the run."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make()
    return shared_in(tmp_path_factory.getbasetemp().parent, name, make)  # pytest-N/, this run's


def shared_in(folder: Path, name: str, make):
    """make()'s value, made by the first process that asks and pickled to folder/name.pickle for
    the others (they wait for it). A value that does not pickle is made by each process."""
    path = folder / f"{name}.pickle"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.exists():
            return pickle.loads(path.read_bytes())
        value = make()
        with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
            path.with_suffix(".tmp").write_bytes(pickle.dumps(value))
            os.replace(path.with_suffix(".tmp"), path)
        return value
