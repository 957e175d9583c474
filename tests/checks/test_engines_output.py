"""`validate --engine duckdb` prints what the pandas validator prints, byte for byte (the
figure-sources line with its counts too), while the known errata stream from the engine a page
at a time; the engine's import leaves pandas out; DuckDB's spill directory goes away.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bazhong_accounts.checks import engines
from bazhong_accounts.checks.engines.identities import KnownErrata
from bazhong_accounts.cli import main

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from conftest import read_rows, write_rows  # noqa: E402

PAGE = 4  # a few known errata per page: pages end inside a file and between files


@pytest.fixture(scope="module")
def synthetic_broken(tmp_path_factory) -> Path:
    """6 department-years (30 known errata in four files) with problems among them, in synthetic
    rows (the real report's figure sources do not see them; its figure cells are left alone): a
    project whose budget parts no longer add up, a share that no longer rounds, a cell that is no
    number."""
    from synth import write_synthetic

    pkg = tmp_path_factory.mktemp("synth-out") / "package"
    write_synthetic(pkg, 6)
    for name, column, value in (("projects", "budget_other", "1"), ("expenditure_by_function", "share_pct", "99.9"),
                                ("income", "amount", "12a")):
        header, rows, _ = read_rows(pkg, name)
        i = [i for i, r in enumerate(rows) if r["department"] != "bazhong-govt-office" and r[column]][3]
        rows[i][column] = value
        write_rows(pkg, name, header, rows)
    return pkg


def _stdout(capsys, *args) -> tuple[int, list[str]]:
    code = main(["validate", *map(str, args)])
    return code, capsys.readouterr().out.splitlines()


def test_duckdb_prints_the_pandas_validators_lines(synthetic_broken, capsys, monkeypatch):
    monkeypatch.setattr(KnownErrata, "PAGE", PAGE)
    code, pandas_lines = _stdout(capsys, synthetic_broken)
    duck_code, duck_lines = _stdout(capsys, synthetic_broken, "--engine", "duckdb")
    expected = pandas_lines
    assert any(line.startswith("numbers in the report: ") for line in expected), "the figure-sources line"
    known = [line for line in expected if line.startswith("known: ")]
    assert code == duck_code == 1
    assert len(known) > 5 * PAGE and any(not line.startswith("known: ") for line in expected[:-1])
    places = [line.split(": ")[1] for line in known]
    assert len(set(places)) < len(places), "two known errata on one line: the order of checks counts"
    assert duck_lines == expected


def test_known_errata_are_read_a_page_at_a_time(synthetic_broken, monkeypatch):
    """Python holds one page of known errata, never the list: each query for them returns at most
    PAGE rows, and iterating twice reads them twice (the CLI's GitHub annotations do)."""
    monkeypatch.setattr(KnownErrata, "PAGE", PAGE)
    from bazhong_accounts.checks.engines.backends import DuckDBEngine

    pages: list[int] = []
    original = DuckDBEngine.query

    def spy(self, sql):
        rows = original(self, sql)
        if "from known_errata where k >" in sql:
            pages.append(len(rows))
        return rows

    monkeypatch.setattr(DuckDBEngine, "query", spy)
    with engines.checked(synthetic_broken, "duckdb") as result:
        known = result.report.known
        assert not isinstance(known, list)
        assert known._rendered is not None and len(pages) == -(-len(known) // PAGE), "worded during the checks"
        pages.clear()
        first = [str(p) for p in known]
        assert len(pages) == -(-len(first) // PAGE) and max(pages) == PAGE, pages
        assert [str(p) for p in known] == first and len(known) == len(first)
    # engines.collect() lists them before the engine closes: test_engines.py compares those lists


def test_the_spill_directory_goes_away(tmp_path, monkeypatch):
    """DuckDB's work directory is removed when the run ends, by Ctrl-C too; one left by a killed
    run (its process gone) is removed by the next run; another live run's is left alone."""
    import tempfile

    from bazhong_accounts.checks.engines import backends

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    killed = tmp_path / f"{backends.WORKDIR_PREFIX}{pid_max + 1}-abc"  # no process has this pid
    live = tmp_path / f"{backends.WORKDIR_PREFIX}1-abc"  # pid 1 is always there
    unnamed = tmp_path / f"{backends.WORKDIR_PREFIX}12345678"  # an older run's name: not ours to judge
    for d in (killed, live, unnamed):
        (d / "spill").mkdir(parents=True)
    with pytest.raises(KeyboardInterrupt), engines.checked(ROOT, "duckdb") as result:
        ours = [d for d in tmp_path.iterdir() if d.name.startswith(f"{backends.WORKDIR_PREFIX}{os.getpid()}-")]
        assert len(ours) == 1 and result.report.problems == []
        raise KeyboardInterrupt
    assert sorted(d.name for d in tmp_path.iterdir()) == sorted([live.name, unnamed.name])


def test_the_duckdb_engine_runs_without_pandas(monkeypatch, capsys):
    """`validate --engine duckdb` imports neither pandas nor pandera (1.5 s of a run): the package
    imported afresh with both made unimportable, the real package validated through the CLI."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("bazhong_accounts", "pandas", "pandera"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    monkeypatch.setitem(sys.modules, "pandera", None)
    from bazhong_accounts.cli import main as fresh_main

    assert fresh_main(["validate", str(ROOT), "--engine", "duckdb"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[-1] == "OK: 18 resources, 995 rows, 5 known errata", (out, err)


def test_sigterm_removes_the_spill_directory_too(tmp_path, monkeypatch):
    """`kill` (SIGTERM) of `validate --engine duckdb` ends it through the engine's clean-up."""
    import signal
    import tempfile

    from bazhong_accounts.checks.engines import backends

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []

    def killed_while_printing():
        seen.extend(d.name for d in tmp_path.iterdir())
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(engines, "print_note", killed_while_printing)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped:
        main(["validate", str(ROOT), "--engine", "duckdb"])
    assert stopped.value.code == 128 + signal.SIGTERM
    assert [n for n in seen if n.startswith(f"{backends.WORKDIR_PREFIX}{os.getpid()}-")], seen
    assert list(tmp_path.iterdir()) == [] and signal.getsignal(signal.SIGTERM) == before
