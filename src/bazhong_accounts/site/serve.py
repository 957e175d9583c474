"""`bazhong-accounts serve`: the Datasette site as `make serve` and the Dockerfile run it. The one
place the serve settings live; the tests and the benchmarks import them from here.

Served by uvicorn with WORKERS processes (one per core of the 2-core machine it is measured on),
uvloop and httptools; each worker builds the site's Datasette (make_datasette) and, once started,
fetches the pages the home page links to so that their first visitor is answered from memory
(cache.py): the databases are immutable, so an answer never goes stale."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..errors import fail

# suggest_facets off: the facets are configured, and suggesting more doubles the time of a table page.
# facet_time_limit_ms: a facet the user asks for on a big table is cut off before it slows the page.
# num_sql_threads 1: the workers (one per core) are the parallelism. A second SQL thread in one worker
# only fights for the GIL: sqlite3 takes it for every row an aggregate of ours (plugin.DecimalSum)
# steps through and drops it between rows, so two exact sums at once in one worker handed it over
# row by row (2 free cores: 21 -> 49-55 ms of CPU a sum, ~800 context switches; Datasette runs a
# page's queries one after the other anyway). Measured in benchmarks/bench_gil.py.
SETTINGS = {"sql_time_limit_ms": 1000, "max_returned_rows": 2000, "facet_time_limit_ms": 200, "suggest_facets": False,
            "num_sql_threads": 1}
WORKERS = 2
HOST = "127.0.0.1"  # loopback: `--host 0.0.0.0` is a deliberate choice (the Dockerfile makes it)
PORT = 8001
DB = Path("site/bazhong.db")  # where `make build` writes the database
# The plugin's /archive/ route serves the archived sources of this package directory.
PACKAGE_DIR_ENV = "BAZHONG_ACCOUNTS_DIR"
# What each worker serves (databases, secret), set by `run` for uvicorn's worker processes.
SERVE_ENV = "BAZHONG_ACCOUNTS_SERVE"

_CHECKOUT_SITE = Path(__file__).resolve().parents[3] / "site"
_INSTALLED_TEMPLATES = Path(__file__).resolve().parents[1] / "package_data" / "templates"


def templates_dir() -> Path:
    """The site's templates: shipped in the wheel, else the checkout's site/templates."""
    return _INSTALLED_TEMPLATES if _INSTALLED_TEMPLATES.is_dir() else _CHECKOUT_SITE / "templates"


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


def make_datasette(dbs: list[Path], metadata: dict | None = None, secret: str | None = None):
    """The site's Datasette: `dbs` immutable (the first one's charts mounted at /charts), the
    settings above, the site's templates, `metadata` (default: merged from each db's metadata.json).
    The tests, the benchmarks and every serving worker build it here."""
    from datasette.app import Datasette

    dbs = [Path(d) for d in dbs]
    return Datasette([], immutables=[str(d) for d in dbs], metadata=metadata or merged_metadata(dbs),
                     settings=SETTINGS, template_dir=str(templates_dir()),
                     static_mounts=[("charts", str(dbs[0].parent / "static" / "charts"))], secret=secret)


def create_app():
    """One worker's app (`uvicorn --factory`): the databases, metadata and secret `run` chose,
    passed through the environment because uvicorn starts each worker as a new process."""
    spec = json.loads(os.environ[SERVE_ENV])
    from .cache import Warming

    ds = make_datasette([Path(d) for d in spec["dbs"]], secret=spec["secret"])
    return Warming(ds, ds.app())


def serve_command(db: str | Path | list = DB, host: str = HOST, port: int = PORT, workers: int | None = None,
                  program: str = "bazhong-accounts") -> list[str]:
    """The `bazhong-accounts serve` command line of `db` (one or a list): what the benchmarks start."""
    dbs = db if isinstance(db, list) else [db]
    cmd = [program, "serve", *(a for d in dbs for a in ("--db", str(d))), "--host", host, "--port", str(port)]
    return cmd + (["--workers", str(workers)] if workers else [])


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
    import uvicorn

    os.environ[PACKAGE_DIR_ENV] = str(Path(args.dir).resolve())
    # One secret for all workers: what one signs (Datasette's CSRF tokens), the others accept.
    os.environ[SERVE_ENV] = json.dumps({"dbs": [str(d.resolve()) for d in dbs], "secret": secrets.token_hex(32)})
    workers = getattr(args, "workers", None) or WORKERS
    print(f"serving {', '.join(map(str, dbs))} on http://{args.host}:{args.port}/ with {workers} "
          f"worker{'s' * (workers > 1)} (Ctrl-C stops)", file=sys.stderr)
    try:  # access_log off: a line per request costs more than an answer from memory
        uvicorn.run(f"{__name__}:create_app", factory=True, host=args.host, port=args.port, workers=workers,
                    log_level="warning", access_log=False, lifespan="on")
    except SystemExit as e:  # uvicorn exits when it cannot start (a port in use); its code is ours
        return e.code if isinstance(e.code, int) else 1
    return 0
