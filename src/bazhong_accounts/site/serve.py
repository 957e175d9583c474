"""`bazhong-accounts serve`: the Datasette site as `make serve` and the Dockerfile run it. The one
place the serve settings live; the tests and the benchmarks import them from here."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import fail

# suggest_facets off: the facets are configured, and suggesting more doubles the time of a table page.
# facet_time_limit_ms: a facet the user asks for on a big table is cut off before it slows the page.
SETTINGS = {"sql_time_limit_ms": 1000, "max_returned_rows": 2000, "facet_time_limit_ms": 200, "suggest_facets": False}
HOST = "127.0.0.1"  # loopback: `--host 0.0.0.0` is a deliberate choice (the Dockerfile makes it)
PORT = 8001
DB = Path("site/bazhong.db")  # where `make build` writes the database
# The plugin's /archive/ route serves the archived sources of this package directory.
PACKAGE_DIR_ENV = "BAZHONG_ACCOUNTS_DIR"

_CHECKOUT_SITE = Path(__file__).resolve().parents[3] / "site"
_INSTALLED_TEMPLATES = Path(__file__).resolve().parents[1] / "package_data" / "templates"


def templates_dir() -> Path:
    """The site's templates: shipped in the wheel, else the checkout's site/templates."""
    return _INSTALLED_TEMPLATES if _INSTALLED_TEMPLATES.is_dir() else _CHECKOUT_SITE / "templates"


def setting_text(v) -> str:
    """A setting as `datasette serve --setting` spells it."""
    return {True: "on", False: "off"}.get(v, str(v)) if isinstance(v, bool) else str(v)


def built_databases(site: Path = DB.parent) -> list[Path]:
    """Every database the build made under `site` (site/*.db, site/*/*.db), the hand-made
    package's first: the others are served beside it. The extracted corpus (`make corpus`) is
    site/corpus/corpus.db, a folder of its own because the build writes metadata.json and
    static/charts/ next to the database."""
    from .marker import file_is_ours

    found = sorted(p for p in [*site.glob("*.db"), *site.glob("*/*.db")] if file_is_ours(p))
    return sorted(found, key=lambda p: p != site / DB.name)


def merged_metadata(dbs: list[Path]) -> dict:
    """One Datasette metadata for several databases: the first one's (title, licence, source),
    with the `databases` entries of each one's metadata.json."""
    metadata = json.loads((dbs[0].parent / "metadata.json").read_text(encoding="utf-8"))
    for db in dbs[1:]:
        other = json.loads((db.parent / "metadata.json").read_text(encoding="utf-8"))
        metadata.setdefault("databases", {}).update(other.get("databases", {}))
    return metadata


def serve_command(db: str | Path | list = DB, host: str = HOST, port: int = PORT, datasette: str = "datasette",
                  metadata: Path | None = None) -> list[str]:
    """The `datasette serve` command line of the site: immutable dbs, loopback, time limits. The
    metadata (default: the first db's) and charts are the ones the build wrote next to the first
    database; `metadata` is the merged one when several are served."""
    dbs = [Path(d) for d in db] if isinstance(db, list) else [Path(db)]
    cmd = [datasette, "serve"]
    for d in dbs:
        cmd += ["-i", str(d)]
    cmd += ["-h", host, "-p", str(port),
            "--metadata", str(metadata or dbs[0].parent / "metadata.json"),
            "--template-dir", str(templates_dir()),
            "--static", f"charts:{dbs[0].parent / 'static' / 'charts'}"]
    for k, v in SETTINGS.items():
        cmd += ["--setting", k, setting_text(v)]
    return cmd


def wait_until_serving(base: str, server, timeout: float) -> bool:
    """Poll `base`/robots.txt until the site answers (True), or the server process exits or
    `timeout` seconds pass (False). Used by the browser test and the benchmarks."""
    deadline = time.monotonic() + timeout
    while server.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/robots.txt", timeout=1) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return False


def check_servable(db: Path) -> None:
    """What `datasette serve` would stumble on, said before it starts."""
    from .marker import file_is_ours

    if not db.is_file():
        fail(f"{db}: no such database; build it first: bazhong-accounts build DIR --out {db}")
    if not (db.parent / "metadata.json").is_file():
        fail(f"{db.parent / 'metadata.json'}: missing; bazhong-accounts build writes it next to the database")
    if not file_is_ours(db):
        fail(f"{db}: not a database built by bazhong-accounts build; rebuild it")


def run(args) -> int:
    dbs = [Path(d) for d in args.db] if args.db else built_databases() or [DB]
    for db in dbs:
        check_servable(db)
    os.environ[PACKAGE_DIR_ENV] = str(Path(args.dir).resolve())
    from datasette.cli import cli as datasette_cli

    with tempfile.TemporaryDirectory(prefix="bazhong-serve-") as tmp:
        metadata = None
        if len(dbs) > 1:
            metadata = Path(tmp) / "metadata.json"
            metadata.write_text(json.dumps(merged_metadata(dbs), ensure_ascii=False), encoding="utf-8")
        print(f"serving {', '.join(map(str, dbs))} on http://{args.host}:{args.port}/ (Ctrl-C stops)",
              file=sys.stderr)
        try:  # in this process: no PATH lookup, and the plugin sees the environment set above
            datasette_cli.main(args=serve_command(dbs, args.host, args.port, metadata=metadata)[1:],
                               prog_name="datasette")
        except SystemExit as e:  # click ends with sys.exit; its code is ours
            return e.code if isinstance(e.code, int) else 1
    return 0
