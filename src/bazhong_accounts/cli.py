"""The `bazhong-accounts` command line: one table of commands (COMMANDS), one error style
(UserError, printed once by main()). Each command lives in its own module, imported only when it
runs, so that `bazhong-accounts list` does not pay for datasette."""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from . import __version__
from .errors import UserError, fail

PROG = "bazhong-accounts"
DESCRIPTION = ("Check, format, explore, export and serve the 2018 final accounts (部门决算) of "
               "巴中市人民政府办公室 as a Frictionless Data Package.")
EPILOG = f"`{PROG} COMMAND --help` shows a command's arguments. Errors: one line on stderr, exit 1."


@dataclass(frozen=True)
class Arg:
    """One argparse argument: its flags and add_argument() keywords (help is required)."""

    flags: tuple[str, ...]
    help: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Command:
    """A subcommand: `module:function` taking the parsed args and returning an exit code."""

    target: str
    help: str
    args: tuple[Arg, ...] = ()


def arg(*flags: str, help: str, **options) -> Arg:
    return Arg(flags, help, options)


# The package directory every command reads; None means the package shipped with bazhong-accounts.
DIR = arg("dir", nargs="?", default=None, metavar="DIR",
          help="package directory (holds datapackage.json, data/, schemas/); default: the shipped package")
NAME = arg("name", metavar="NAME", help="resource name, as `bazhong-accounts list` shows it")

# The commands, in the order --help lists them. Adding one is adding an entry here.
COMMANDS: dict[str, Command] = {
    "validate": Command("checks.validate:run",
                        "check a package directory: structure, pandera, identities, provenance", (
        DIR,
        arg("--frictionless", action="store_true",
            help="also run frictionless itself (slow) and report what it finds that validate did not"),
        arg("--engine", choices=["pandas", "duckdb", "spark", "auto"], default="pandas", metavar="ENGINE",
            help="where the checks run: pandas, duckdb or spark (SQL, data beyond one process); auto picks by size"),
    )),
    "fmt": Command("checks.canonical:run_fmt",
                   "rewrite CSVs in canonical form (UTF-8, LF, schema column order, key order)", (
        DIR,
        arg("--check", action="store_true", help="report files that are not canonical, change nothing"),
    )),
    "build": Command("site.build:run", "build the SQLite database, metadata and charts of the Datasette site", (
        DIR,
        arg("--out", default="site/bazhong.db", metavar="DB",
            help="database to write; metadata.json and static/charts/ go next to it"),
        arg("--no-charts", action="store_true", help="skip the charts (they need a CJK font: fonts-noto-cjk)"),
        arg("--draft", action="store_true",
            help="build even if the package does not validate (machine-extracted drafts): the problems are "
                 "recorded and every page of the database says its rows are not reviewed"),
    )),
    "serve": Command("site.serve:run", "serve the built site with Datasette (read-only)", (
        arg("dir", nargs="?", default=None, metavar="DIR",
            help="package directory whose archived sources the site serves at /archive/; default: the shipped package"),
        arg("--db", action="append", metavar="DB",
            help="database written by `bazhong-accounts build`, repeat for several; default: every one "
                 "the build made under site/ (site/bazhong.db, site/corpus/corpus.db)"),
        arg("--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 serves other machines too"),
        arg("--port", type=int, default=8001, help="port to listen on"),
        arg("--workers", type=int, default=None, help="server processes; default: 2, one per core (site/serve.py)"),
    )),
    "list": Command("consumers.api:run_list", "list the resources with their row counts and titles", (DIR,)),
    "show": Command("consumers.api:run_show", "print a resource as a table", (NAME, DIR)),
    "export": Command("consumers.export:run", "export a resource as csv, json, parquet or xlsx", (
        NAME,
        DIR,
        arg("--format", choices=["csv", "json", "parquet", "xlsx"], default="csv", help="output format"),
        arg("--excel", action="store_true", help="csv only: add a UTF-8 BOM so Excel reads Chinese"),
        arg("--out", "-o", metavar="FILE",
            help="output file, written whole or not at all; default: standard output for csv and json, "
                 "NAME.parquet or NAME.xlsx for the others"),
    )),
    "diff": Command("consumers.diff:run", "rows added, removed and changed between two package directories", (
        arg("old_dir", metavar="OLD_DIR", help="package directory before the change"),
        arg("new_dir", metavar="NEW_DIR", help="package directory after the change"),
    )),
    "extract": Command("extract.package:run", "published 部门决算 reports (PDF, .docx, HTML, text) → draft rows", (
        arg("reports", nargs="+", metavar="REPORT", help="report files, or folders of them"),
        arg("--out", metavar="DIR", help="write a new package directory (give --out or --into)"),
        arg("--into", metavar="DIR", help="add the reports to this package directory, atomically"),
        arg("--replace", action="store_true", help="replace a department-year the package already has"),
        arg("--department", metavar="ID", help="department id (default: read from the report)"),
        arg("--fiscal-year", type=int, metavar="YEAR", help="fiscal year (default: read from the report)"),
    )),
}


class HelpFormatter(argparse.HelpFormatter):
    """Shows `(default: …)` after an option's help, except for flags and arguments without one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


class Parser(argparse.ArgumentParser):
    """argparse with the one error style: a usage mistake is a UserError, caught in main()."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see: {self.prog} --help)")


def parser(width: int | None = None) -> Parser:
    """The command line; `width` fixes where --help wraps (default: the terminal's width)."""
    def formatter(prog: str) -> HelpFormatter:
        return HelpFormatter(prog, width=width)

    p = Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=formatter)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        s = sub.add_parser(name, help=command.help, description=command.help, formatter_class=formatter)
        for a in command.args:
            s.add_argument(*a.flags, help=a.help, **a.options)
    return p


def help_texts(width: int = 100) -> dict[str, str]:
    """`--help` of the program (key "") and of each command, as the README's reference shows them."""
    p = parser(width)
    commands = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction)).choices
    return {"": p.format_help(), **{name: commands[name].format_help() for name in COMMANDS}}


def check_package_dir(args: argparse.Namespace) -> None:
    """The package directory named on the command line must hold a datapackage.json; validate
    says what is wrong inside the directory itself, as one of its problems."""
    for attr in ("dir", "old_dir", "new_dir"):
        value = getattr(args, attr, None)
        if value is None:
            continue
        d = Path(value)
        if not d.is_dir():
            fail(f"{d}: no such directory")
        if args.command != "validate" and not (d / "datapackage.json").is_file():
            fail(f"{d}: no datapackage.json there; a package directory holds datapackage.json, data/, schemas/")


def dispatch(args: argparse.Namespace) -> int:
    from .model.descriptor import package_dir

    if getattr(args, "dir", "unset") is None:
        args.dir = str(package_dir())
    check_package_dir(args)
    module, function = COMMANDS[args.command].target.split(":")
    run = getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return int(run(args) or 0)


def one_line(message: str) -> str:
    """The first line of a message (e.g. load()'s one line per bad cell) and how many more there are."""
    first, *rest = message.strip().splitlines() or [""]
    return first + (f" (and {len(rest)} more: `{PROG} validate DIR` lists them all)" if rest else "")


def main(argv: list[str] | None = None) -> int:
    try:
        return dispatch(parser().parse_args(argv))
    except UserError as e:
        print(f"{PROG}: error: {one_line(str(e))}", file=sys.stderr)
    except BrokenPipeError:  # `bazhong-accounts show x | head`: the reader has what it wanted
        sys.stderr.close()  # no "Exception ignored" when Python flushes at exit
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as e:  # a file or directory the user named cannot be read or written
        where = f"{e.filename}: " if e.filename else ""
        print(f"{PROG}: error: {where}{e.strerror or e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
