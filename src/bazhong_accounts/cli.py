"""`bazhong-accounts` command line. Each subcommand lives in its own module, imported lazily
so that `bazhong-accounts list` does not pay for pandas or datasette."""

import argparse
import importlib
import sys

from .model.descriptor import package_dir

# subcommand -> (module, function, help); the function takes the parsed args, returns an exit code
COMMANDS = {
    "validate": ("checks.validate", "run", "check a package directory: structure, pandera, identities, provenance"),
    "fmt": ("checks.canonical", "run_fmt", "rewrite CSVs in canonical form (UTF-8, LF, schema column order, key order)"),
    "build": ("site.build", "run", "build the SQLite database for the Datasette site"),
    "list": ("consumers.api", "run_list", "list the resources"),
    "show": ("consumers.api", "run_show", "print a resource as a table"),
    "export": ("consumers.export", "run", "export a resource as csv, json, parquet or xlsx"),
    "diff": ("consumers.diff", "run", "rows added, removed and changed between two package directories"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bazhong-accounts", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    default_dir = str(package_dir())

    s = sub.add_parser("validate", help=COMMANDS["validate"][2])
    s.add_argument("dir", nargs="?", default=default_dir)
    s.add_argument("--frictionless", action="store_true",
                   help="also run frictionless itself (slow) and report what it finds that validate did not")
    s.add_argument("--engine", choices=["pandas", "duckdb", "spark", "auto"], default="pandas",
                   help="where the checks run: pandas (default), DuckDB or Spark SQL (data beyond one process); auto picks by size")

    s = sub.add_parser("fmt", help=COMMANDS["fmt"][2])
    s.add_argument("dir", nargs="?", default=default_dir)
    s.add_argument("--check", action="store_true", help="report files that are not canonical, change nothing")

    s = sub.add_parser("build", help=COMMANDS["build"][2])
    s.add_argument("dir", nargs="?", default=default_dir)
    s.add_argument("--out", default="site/bazhong.db")
    s.add_argument("--no-charts", action="store_true", help="skip the charts (they need a CJK font: fonts-noto-cjk)")

    sub.add_parser("list", help=COMMANDS["list"][2])

    s = sub.add_parser("show", help=COMMANDS["show"][2])
    s.add_argument("name")

    s = sub.add_parser("export", help=COMMANDS["export"][2])
    s.add_argument("name")
    s.add_argument("--format", choices=["csv", "json", "parquet", "xlsx"], default="csv")
    s.add_argument("--excel", action="store_true", help="csv only: add a UTF-8 BOM so Excel reads Chinese")
    s.add_argument("--out", "-o", help="output file (default: standard output for csv/json)")

    s = sub.add_parser("diff", help=COMMANDS["diff"][2])
    s.add_argument("old_dir")
    s.add_argument("new_dir")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    module, function, _ = COMMANDS[args.command]
    run = getattr(importlib.import_module(f"bazhong_accounts.{module}"), function)
    try:
        return int(run(args) or 0)
    except BrokenPipeError:  # `bazhong-accounts show x | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
