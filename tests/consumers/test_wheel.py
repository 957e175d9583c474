"""The built wheel carries the data: install it into a fresh venv and load every resource.

How, and why this way (it has to stay under a minute, offline-friendly):

1. `python -m build --wheel --installer uv` into a temporary directory (hatchling, force-including
   datapackage.json, data/, schemas/ and archive/ as bazhong_accounts/package_data).
2. `python -m venv --without-pip` outside the checkout. Third-party dependencies (pandas,
   pandera, frictionless, pyarrow, pip itself, ...) come from the project venv through a .pth
   file listing its site-packages directory. A directory named in a .pth file is only
   appended to sys.path: the .pth files inside it - among them the editable install that
   points at src/ - are not processed, so the checkout's package stays invisible, and the
   fresh venv's own site-packages comes first on sys.path. Reinstalling every dependency from
   PyPI would take minutes and need the network; --system-site-packages would expose the
   base interpreter, not the pinned dependencies.
3. `uv pip install --no-deps --offline` of the wheel into that venv (uv, pinned in the project
   venv, installs a wheel as pip does: 0.1 s of CPU where pip takes 0.9 s).
4. From a temporary working directory (so nothing resolves relative to the checkout), a
   script asserts that `bazhong_accounts` and its data come from the venv, loads every
   resource, and reports row counts and the first row; the test compares them with the
   checkout's CSV files. The installed console script runs `list` as well.
"""

import csv
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
from pathlib import Path
import pandas as pd
import bazhong_accounts as ba
from bazhong_accounts.model.descriptor import package_dir

venv = Path(sys.argv[1]).resolve()
assert Path(ba.__file__).resolve().is_relative_to(venv), ba.__file__
assert package_dir() == Path(ba.__file__).parent / "package_data", package_dir()
from bazhong_accounts.site.serve import templates_dir  # `bazhong-accounts serve` from the wheel (Dockerfile)
assert templates_dir() == package_dir() / "templates" and (templates_dir() / "pages").is_dir(), templates_dir()

def text(v):
    if v is None or (not hasattr(v, "as_tuple") and pd.isna(v)):
        return ""
    if isinstance(v, (bool,)) or type(v).__name__ == "bool":
        return "true" if v else "false"
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return str(v)

out = {"version": ba.__version__, "tables": {}}
for name in ba.resources().name:
    df = ba.load(name)
    first = [text(v) for v in df.iloc[0]] if len(df) else []
    out["tables"][name] = {"rows": len(df), "first": first, "path": str(ba.path(name))}
print(json.dumps(out, ensure_ascii=False))
"""


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_wheel_installs_and_loads_every_resource(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    dist = tmp_path / "dist"
    # still an isolated build with [build-system] requires, set up by uv (pinned, in the venv): half the time of pip
    run([sys.executable, "-m", "build", "--wheel", "--installer", "uv", "--outdir", str(dist), str(ROOT)], env=env)
    [wheel] = dist.glob("bazhong_accounts-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=env)
    vpython = venv / "bin" / "python"
    site = Path(run([str(vpython), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    env=env).strip())
    (site / "_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    uv = Path(sys.executable).parent / "uv"
    run([str(uv), "pip", "install", "--quiet", "--no-deps", "--offline", "--python", str(vpython), str(wheel)], env=env)

    work = tmp_path / "elsewhere"
    work.mkdir()
    report = json.loads(run([str(vpython), "-c", SCRIPT, str(venv)], cwd=work, env=env))

    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    assert report["version"] == descriptor["version"]
    assert list(report["tables"]) == [r["name"] for r in descriptor["resources"]]
    for r in descriptor["resources"]:
        with open(ROOT / r["path"], encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        got = report["tables"][r["name"]]
        assert got["rows"] == len(rows) - 1, r["name"]
        assert Path(got["path"]).is_relative_to(venv), got["path"]
        if len(rows) > 1:
            assert got["first"] == rows[1], r["name"]

    listing = run([str(venv / "bin" / "bazhong-accounts"), "list"], cwd=work, env=env)
    for r in descriptor["resources"]:
        assert r["name"] in listing
