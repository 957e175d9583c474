"""`validate --engine duckdb` never imports pandas where it is installed: 0.3 s of every run, paid
at every size (issue 14: the engine's fixed cost). test_engines_output.py runs the engine with
pandas made unimportable; pyarrow then carries on without it, so that test passes even when
something imports pandas whenever it can (pa.array() and pa.scalar() ask pandas whether their
argument is one of its objects). Only a fresh process can tell: this test's own already holds
pandas."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

RUN = """
import sys
from bazhong_accounts.cli import main
code = main(["validate", sys.argv[1], "--engine", "duckdb"])
print("imported:", " ".join(m for m in ("pandas", "pandera") if m in sys.modules) or "-")
sys.exit(code)
"""


def _imported_by_a_run(root: Path) -> tuple[str, str]:
    """(the last line a fresh process printed after `validate ROOT --engine duckdb`, its stdout)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", RUN, str(root)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout.splitlines()[-1], done.stdout


def test_the_duckdb_engine_imports_no_pandas_where_it_is_installed():
    last, out = _imported_by_a_run(ROOT)
    assert last == "imported: -", out
    assert "OK: 18 resources, 995 rows, 5 known errata" in out


def test_a_list_of_strings_becomes_arrow_without_pa_array():
    """as_arrow() of a list of str builds the array from its buffers (no pa.array, which imports
    pandas): the same strings, multi-byte and empty ones included; other lists as before."""
    import pyarrow as pa

    from bazhong_accounts.model.table import as_arrow

    texts = ["", "６７５.７０", "连续三年", "a,b", ""]
    built = as_arrow(texts)
    assert built.type == pa.large_string() and built.to_pylist() == texts
    built.validate(full=True)
    assert as_arrow([]).to_pylist() == [] and as_arrow(("x",)).to_pylist() == ["x"]
    assert as_arrow(["a", None]).to_pylist() == ["a", None]
