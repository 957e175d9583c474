"""The command line as a user meets it: --version, help for every command and argument, the one
error style (one line on stderr, exit 1, never a traceback), DIR for every command, `serve`, the
README reference, and the Datasette plugin acting only on the databases this package builds.
In-process through cli.main() (the subprocess contract is in test_validate_mutations.py)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from bazhong_accounts import cli
from bazhong_accounts.checks import validate

ROOT = Path(__file__).resolve().parent.parent
ERROR = re.compile(r"bazhong-accounts: error: \S.*")


def run(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `bazhong-accounts ARGV…`; argparse's own exits included."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as e:  # --help and --version end through argparse's exit
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, out, err, *fragments):
    assert code == 1, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1 and ERROR.fullmatch(lines[0]), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])


# ---------------------------------------------------------------- version and help


def test_version_is_the_data_version(capsys):
    version = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["version"]
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"bazhong-accounts {version}\n")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_command_and_every_argument_has_help():
    commands = subcommands(cli.parser())
    assert {"validate", "fmt", "build", "serve", "list", "show", "export", "diff"} <= set(commands)
    for name, sub in commands.items():
        assert sub.description, name
        for action in sub._actions:
            assert action.help and action.help.strip(), (name, action.dest)


@pytest.mark.parametrize("command", list(cli.COMMANDS))  # a command added later is covered too
def test_command_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: bazhong-accounts {command} "), out


def test_help_shows_the_defaults(capsys):
    _, build_help, _ = run(capsys, "build", "--help")
    assert "(default: site/bazhong.db)" in build_help
    _, serve_help, _ = run(capsys, "serve", "--help")
    assert "(default: 127.0.0.1)" in serve_help and "(default: 8001)" in serve_help
    _, export_help, _ = run(capsys, "export", "--help")
    assert "(default: csv)" in export_help
    assert "(default: False)" not in export_help and "(default: None)" not in export_help


def load_script(name: str):
    if str(ROOT / "scripts") not in sys.path:  # as `python scripts/NAME.py` would: its neighbours import
        sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_cli_reference_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert load_script("cli_reference").render(readme) == readme, \
        "README.md's command-line reference is stale: run python scripts/cli_reference.py"
    for command in subcommands(cli.parser()):
        assert f"<code>bazhong-accounts {command}</code>" in readme, command


def test_readme_cli_reference_check_sees_a_stale_block():
    script = load_script("cli_reference")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = readme.replace("show the version", "show teh version").replace("print the version", "print teh version")
    assert stale != readme and script.render(stale) == readme
    with pytest.raises(ValueError, match="markers"):
        script.render("no markers here")


# ---------------------------------------------------------------- one error style


@pytest.mark.parametrize("argv,fragments", [
    (["list", "/nonexistent/pkg"], ["/nonexistent/pkg", "no such directory"]),
    (["validate", "/nonexistent/pkg"], ["/nonexistent/pkg", "no such directory"]),
    (["show", "income", "/nonexistent/pkg"], ["no such directory"]),
    (["export", "income", "--format", "parquet", "--out", "/nonexistent/dir/x.parquet"],
     ["/nonexistent/dir/x.parquet", "does not exist"]),
    (["show", "nope"], ["unknown resource 'nope'", "income"]),
    (["export", "nope"], ["unknown resource 'nope'"]),
    (["export", "income", "--format", "docx"], ["--format", "docx", "csv"]),
    (["export", "income", "--format", "json", "--excel"], ["--excel"]),
    (["show"], ["NAME"]),
    (["frobnicate"], ["frobnicate"]),
    ([], ["COMMAND"]),
    (["serve", "--port", "eighty"], ["--port", "eighty"]),
    (["diff", str(ROOT), "/nonexistent/pkg"], ["/nonexistent/pkg"]),
])
def test_user_errors_are_one_line_on_stderr(capsys, argv, fragments):
    code, out, err = run(capsys, *argv)
    assert out == ""
    assert_one_error_line(code, out, err, *fragments)


def test_a_directory_without_datapackage_json(capsys, tmp_path):
    for argv in (["list", tmp_path], ["show", "income", tmp_path], ["export", "income", tmp_path], ["build", tmp_path]):
        assert_one_error_line(*run(capsys, *argv), str(tmp_path), "no datapackage.json")


def test_output_that_is_a_directory_or_under_a_file(capsys, tmp_path):
    assert_one_error_line(*run(capsys, "export", "income", "--format", "csv", "--out", tmp_path), str(tmp_path))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert_one_error_line(*run(capsys, "export", "income", "--out", a_file / "x.csv"), str(a_file / "x.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no temp file left behind


def test_a_file_with_several_bad_cells_is_still_one_line(capsys, tmp_path, copy_package):
    pkg = copy_package(tmp_path / "pkg")
    p = pkg / "data" / "income.csv"
    with p.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    bad = [i for i, r in enumerate(rows) if re.fullmatch(r"[0-9.]+", r["amount"])][:2]
    for i in bad:
        rows[i]["amount"] += "万元"
    with p.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    first_line = bad[0] + 2  # rows of income.csv are one line each; line 1 is the header
    for argv in (["show", "income", pkg], ["export", "income", pkg, "--format", "json"]):
        assert_one_error_line(*run(capsys, *argv), f"data/income.csv:{first_line}: amount:", "万元", "and 1 more")


def test_any_multi_line_message_is_cut_to_one_line():
    assert cli.one_line("first\nsecond\nthird") == "first (and 2 more: `bazhong-accounts validate DIR` lists them all)"
    assert cli.one_line("only") == "only"


def test_validate_internal_error_goes_to_stderr(capsys, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("kaput")

    monkeypatch.setattr(validate, "collect", crash)
    code, out, err = run(capsys, "validate")
    assert out == ""  # stdout carries problems only
    assert_one_error_line(code, out, err, "internal error", "RuntimeError: kaput")


def test_build_refusal_is_one_line(capsys, tmp_path, copy_package):
    pkg = copy_package(tmp_path / "pkg")
    (pkg / "data" / "notes.csv").write_text("a\n1\n", encoding="utf-8")  # a CSV no resource lists
    out = tmp_path / "site" / "bazhong.db"
    assert_one_error_line(*run(capsys, "build", pkg, "--out", out, "--no-charts"),
                          "does not validate", "data/notes.csv")
    assert not out.exists()


# ---------------------------------------------------------------- DIR for every command


def rows_in(pkg: Path, name: str) -> int:
    with (pkg / "data" / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


@pytest.fixture(scope="module")
def shorter_package(tmp_path_factory, copy_package) -> Path:
    """A copy of the package whose glossary lost its last row (the copy need not validate)."""
    pkg = copy_package(tmp_path_factory.mktemp("shorter") / "pkg")
    p = pkg / "data" / "glossary.csv"
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    last_row_starts = max(i for i, line in enumerate(lines) if line[:1] not in ('"', " ") and i > 0)
    p.write_text("".join(lines[:last_row_starts]), encoding="utf-8")
    return pkg


def test_list_show_export_read_the_directory_given(capsys, shorter_package):
    n = rows_in(shorter_package, "glossary")
    assert n == rows_in(ROOT, "glossary") - 1
    code, out, _ = run(capsys, "list", shorter_package)
    assert code == 0 and re.search(rf"^glossary +{n} ", out, re.M), out
    code, out, _ = run(capsys, "show", "glossary", shorter_package)
    assert code == 0 and f"({n} rows;" in out
    code, out, _ = run(capsys, "export", "glossary", shorter_package, "--format", "json")
    assert code == 0 and len(json.loads(out)) == n


def test_export_writes_its_file(capsys, tmp_path):
    out = tmp_path / "income.csv"
    code, _, err = run(capsys, "export", "income", "--out", out)
    assert code == 0 and out.read_bytes() == (ROOT / "data" / "income.csv").read_bytes(), err


# ---------------------------------------------------------------- serve


def test_serve_refuses_what_it_cannot_serve(capsys, tmp_path):
    missing = tmp_path / "none.db"
    assert_one_error_line(*run(capsys, "serve", "--db", missing), str(missing), "bazhong-accounts build")
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("create table t (x)").connection.commit()
    (tmp_path / "metadata.json").write_text("{}")
    assert_one_error_line(*run(capsys, "serve", "--db", foreign), str(foreign), "not a database built by")


def test_serve_runs_the_built_site_with_uvicorn_workers(capsys, monkeypatch, site_db):
    import asyncio

    import uvicorn

    from bazhong_accounts.site import serve

    seen = {}

    def fake_run(app, **options):
        import os

        seen.update(app=app, dir=os.environ.get("BAZHONG_ACCOUNTS_DIR"), spec=os.environ.get(serve.SERVE_ENV),
                    **options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("BAZHONG_ACCOUNTS_DIR", "unset")  # serve sets it; monkeypatch restores it after
    monkeypatch.setenv(serve.SERVE_ENV, "unset")
    code, _, err = run(capsys, "serve", ROOT, "--db", site_db, "--port", 8123)
    assert code == 0, err
    assert seen["app"] == "bazhong_accounts.site.serve:create_app" and seen["factory"] is True
    assert (seen["host"], seen["port"], seen["workers"]) == ("127.0.0.1", 8123, 2)  # loopback unless told
    assert seen["dir"] == str(ROOT.resolve())
    assert json.loads(seen["spec"])["dbs"] == [str(site_db.resolve())]
    # what each worker builds: the immutable db, its metadata, the limits the README promises
    monkeypatch.setenv(serve.SERVE_ENV, seen["spec"])
    ds = serve.create_app().datasette
    assert [d.path for d in ds.databases.values() if d.path] == [str(site_db.resolve())]
    assert not ds.databases[site_db.stem].is_mutable
    assert ds.metadata("title") == json.loads((site_db.parent / "metadata.json").read_text(encoding="utf-8"))["title"]
    promised = {"sql_time_limit_ms": 1000, "max_returned_rows": 2000, "facet_time_limit_ms": 200,
                "suggest_facets": False}
    assert {k: ds.setting(k) for k in promised} == promised
    assert asyncio.run(ds.client.get("/robots.txt")).status_code == 200


def test_make_serve_and_the_dockerfile_call_bazhong_accounts_serve():
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nserve:")[1].split("\n\n")[0]
    assert "bazhong-accounts serve" in recipe and "datasette" not in recipe
    docker_cmd = json.loads((ROOT / "Dockerfile").read_text(encoding="utf-8").split("\nCMD ")[1].split("\n")[0])
    assert docker_cmd[:2] == ["/venv/bin/bazhong-accounts", "serve"] and "0.0.0.0" in docker_cmd
    for text in ((ROOT / "Makefile").read_text(encoding="utf-8"), (ROOT / "Dockerfile").read_text(encoding="utf-8")):
        for setting in ("sql_time_limit_ms", "max_returned_rows", "facet_time_limit_ms", "suggest_facets"):
            assert setting not in text, setting  # the settings live in site/serve.py only


# ---------------------------------------------------------------- the plugin, scoped


def get(ds, path: str):
    return asyncio.run(ds.client.get(path))


def a_sum(ds, db: str) -> object:
    r = get(ds, f"/{db}.json?sql=select+sum(x)+as+s+from+t&_shape=array")
    assert r.status_code == 200, r.text
    return r.json()[0]["s"]


@pytest.fixture(scope="module")
def other_db(tmp_path_factory) -> Path:
    """An unrelated database: 0.1 and 0.2, whose float sum SQLite gives as 0.30000000000000004."""
    path = tmp_path_factory.mktemp("other") / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("create table t (x real)")
    conn.executemany("insert into t values (?)", [(0.1,), (0.2,)])
    conn.commit()
    conn.close()
    return path


def test_the_build_stamps_its_database(site_db):
    with site_db.open("rb") as fh:
        assert fh.read(100)[68:72] == b"BZAC"  # SQLite header: application_id, big-endian


def test_an_unrelated_database_gets_stock_datasette(other_db):
    from datasette.app import Datasette

    ds = Datasette([str(other_db)])
    assert a_sum(ds, "other") == 0.1 + 0.2 == 0.30000000000000004  # SQLite's own float sum
    assert get(ds, "/robots.txt").status_code == 404
    assert get(ds, "/archive/anything.txt").status_code == 404


def test_next_to_ours_each_database_keeps_its_own_sum(other_db, site_db, tmp_path):
    from datasette.app import Datasette

    ours = tmp_path / "bazhong.db"
    ours.write_bytes(site_db.read_bytes())
    conn = sqlite3.connect(ours)
    conn.execute("create table t (x real)")
    conn.executemany("insert into t values (?)", [(0.1,), (0.2,)])
    conn.commit()
    conn.close()
    ds = Datasette([str(other_db)], immutables=[str(ours)])
    assert a_sum(ds, "bazhong") == 0.3  # the plugin's exact sum
    assert a_sum(ds, "other") == 0.30000000000000004  # stock, in the same Datasette
    robots = get(ds, "/robots.txt")
    assert robots.status_code == 200 and "Disallow: /" in robots.text
