"""Run the ```python, ```bash and ```r examples of README.md's "Using the data" section.

Each block runs in a subprocess from the repository root (python blocks with this
interpreter, bash blocks with this venv's bin/ first on PATH, r blocks with Debian's Rscript,
which `make test` installs as r-base-core) and must exit 0 and print something. Other fences
(sql, text) are shown, not run. R examples may use base R and packages Debian ships as
r-cran-* that the Makefile installs, nothing from CRAN.
BAZHONG_README=path overrides the file, to try a draft section before it is merged.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = Path(os.environ.get("BAZHONG_README", ROOT / "README.md"))
SECTION = "Using the data"


def examples(text: str) -> list[tuple[str, str]]:
    """(language, code) of the python/bash fences in the SECTION heading's section."""
    match = re.search(rf"^(#+) +{re.escape(SECTION)}\s*$", text, re.M)
    if not match:
        return []
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    section = rest[: end.start()] if end else rest
    return [(m.group(1), m.group(2)) for m in
            re.finditer(r"^```(python|bash|r)[ \t]*\n(.*?)^```[ \t]*$", section, re.M | re.S)]


BLOCKS = examples(README.read_text(encoding="utf-8")) if README.is_file() else []


def test_readme_has_the_section():
    assert BLOCKS, f'{README}: no ```python/```bash blocks under a "{SECTION}" heading'
    assert {lang for lang, _ in BLOCKS} == {"python", "bash", "r"}


@pytest.mark.parametrize(
    "lang,code",  # no section: one failing case rather than pytest's silent skip
    [pytest.param(lang, code, id=f"{i}-{lang}-{code.strip().splitlines()[0][:40]}")
     for i, (lang, code) in enumerate(BLOCKS)] or [pytest.param(None, None, id="no-section")])
def test_example_runs(lang, code):
    assert lang, f'{README}: no ```python/```bash blocks under a "{SECTION}" heading'
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    cmd = {"python": [sys.executable, "-c", code], "bash": ["bash", "-eo", "pipefail", "-c", code],
           "r": ["Rscript", "--vanilla", "-e", code]}[lang]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}\n{code}\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"no output from\n{code}\n{result.stderr}"


def r_packages(code: str) -> set[str]:
    """Packages an R example loads: library(x), require(x), requireNamespace("x"), x::f."""
    loaded = re.findall(r"\b(?:library|require|requireNamespace)\(\s*[\"']?([A-Za-z][\w.]*)", code)
    return set(loaded) | set(re.findall(r"\b([A-Za-z][\w.]*):::?", code))


def test_r_examples_need_only_what_debian_ships():
    base = set(subprocess.run(["Rscript", "--vanilla", "-e", 'cat(rownames(installed.packages(priority="base")))'],
                              capture_output=True, text=True, check=True).stdout.split())
    assert {"base", "utils", "stats"} <= base, base
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    from_debian = {m.lower() for m in re.findall(r"\br-cran-([a-z0-9.]+)", makefile)}
    for lang, code in BLOCKS:
        if lang == "r":
            extra = {p for p in r_packages(code) if p not in base and p.lower() not in from_debian}
            assert not extra, f"R example needs {extra}: use base R or add r-cran-* to the Makefile's Debian deps"


def test_r_package_scan_sees_library_calls():
    assert r_packages('library(data.table)\nx <- readr::read_csv("a")') == {"data.table", "readr"}
