"""What the served site computes once: the databases are immutable and the metadata does not change
while it serves, so answers derived from them never go stale.

- Datasette 0.65.5 deep-copies the whole metadata (330 kB with the corpus) on every table
  permission check, ~10 ms each and about 450 for the home page; our metadata restricts no table,
  so the answer is known without it (memoize_table_permissions, on our sites only); and the
  answers for visitors not signed in are remembered (memoize_anonymous_permissions).
- `warm` fetches, after a server's first request, the pages the home page links to in both
  languages for that request's host, so that their first visitor is answered from memory (i18n.py
  keeps every GET answer, per host).
"""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache

from datasette import hookimpl

from . import i18n

# (database, table) pairs remembered; bounded because a URL can name any table
PERMISSION_ANSWERS = 4096

# Pages fetched when a server starts: the home page, everything it links to on the site (tables,
# queries, report cards, charts) and a search (which reads the search index), in both languages.
NOT_WARMED = ("/-/static/", "/archive/", "//")
WARM_SEARCH = "/-/search?q=%E4%B8%89%E5%85%AC"  # 三公
WARM_DELAY = 2.0  # seconds after the server starts


def table_rules(source, database: str) -> bool:
    """True when a metadata source has a table entry (top level or under `database`) that is not a
    plain dict without "allow": the only kind that makes a table's permission answer non-empty."""
    if not isinstance(source, dict):
        return source is not None
    db = (source.get("databases") or {}).get(database)
    for tables in (source.get("tables"), db.get("tables") if isinstance(db, dict) else None):
        if tables is not None and (not isinstance(tables, dict) or any(
                not isinstance(config, dict) or "allow" in config for config in tables.values())):
            return True
    return False


def memoize_table_permissions(datasette) -> None:
    """Answer Datasette's per-table permission lookup without its deep copy where the metadata
    restricts no table (an empty list, what the lookup itself returns then), else remember its
    answers; the metadata of a served site does not change."""
    lookup = datasette._table_permission_allows
    if hasattr(lookup, "cache_info"):
        return
    unrestricted: dict[str, bool] = {}

    @lru_cache(maxsize=PERMISSION_ANSWERS)
    def allows(database, table):
        if database not in unrestricted:
            unrestricted[database] = not any(table_rules(source, database)
                                             for source in datasette._metadata_sources("tables", database, None))
        return [] if unrestricted[database] else lookup(database, table)

    datasette._table_permission_allows = allows


NO_ANSWER = object()  # no permission hook answered: the caller's default applies


async def ask_every_table(datasette) -> None:
    """Ask, once at start, what the pages ask of every table, database and the instance for a
    visitor not signed in, so that the first page of each asks nothing (memoize_anonymous_permissions)."""
    await datasette.permission_allowed(None, "view-instance")
    for name in i18n.our_databases(datasette):
        db = datasette.databases[name]
        for action in ("view-database", "execute-sql", "view-database-download"):
            await datasette.permission_allowed(None, action, resource=name)
        for table in [*await db.table_names(), *await db.view_names()]:
            await datasette.permission_allowed(None, "view-table", resource=(name, table))
        queries = (datasette.metadata() or {}).get("databases", {}).get(name, {}).get("queries", {})
        for query in queries:
            await datasette.permission_allowed(None, "view-query", resource=(name, query))


def memoize_anonymous_permissions(datasette) -> None:
    """Remember Datasette's permission answers for visitors who are not signed in (actor None):
    they depend only on the metadata and the databases' schemas, which do not change while it
    serves. Each "view-table" check otherwise asks the database for the table's spelling: the
    database page checks every table (~360 round trips to the database thread)."""
    done = i18n.kept(datasette, "remembered")
    if "permissions" in done:
        return
    done["permissions"] = True
    ask = datasette.permission_allowed
    answers: dict = {}

    async def permission_allowed(actor, action, resource=None, default=False):
        if actor is not None:
            return await ask(actor, action, resource=resource, default=default)
        key = (action, tuple(resource) if isinstance(resource, list) else resource)
        if key not in answers:  # the hooks' answer, or NO_ANSWER: then each caller's default
            answers[key] = await ask(actor, action, resource=resource, default=NO_ANSWER)
        return default if answers[key] is NO_ANSWER else answers[key]

    datasette.permission_allowed = permission_allowed


@hookimpl
def startup(datasette):
    if i18n.our_databases(datasette):
        memoize_table_permissions(datasette)
        memoize_anonymous_permissions(datasette)


def pages_linked_from(home_html: str) -> list[str]:
    """The site's own pages the home page links to, itself first, then the search."""
    links = dict.fromkeys(["/", *re.findall(r'href="(/[^"#]*)"', home_html), WARM_SEARCH])
    return [p for p in links if not p.startswith(NOT_WARMED) and "_lang=" not in p]


async def warm(datasette, host: str = "localhost", delay: float = WARM_DELAY) -> int:
    """Fetch every page of pages_linked_from() in Chinese and in English by the cookie, and the
    home page by the switch (?_lang=en), as asked of `host` (Datasette writes absolute links with
    it, so answers are kept per host), after `delay` seconds (the first visitor goes first; each
    worker warms its own cache on the same cores); returns how many were fetched."""
    await asyncio.sleep(delay)
    headers = {"host": host}
    home = await datasette.client.get("/", headers=headers)
    pages = pages_linked_from(home.text)
    await datasette.client.get("/?_lang=en", headers=headers)
    for page in pages:
        await datasette.client.get(page, headers=headers)
        await datasette.client.get(page, headers=headers, cookies={i18n.COOKIE: "en"})
    return 2 * len(pages) + 1


class Warming:
    """An ASGI app: `app`, starting warm(datasette) for the host its first visitor asked for."""

    def __init__(self, datasette, app):
        self.datasette, self.app = datasette, app
        self.task: asyncio.Task | None = None  # referenced until the server stops

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.task is None:
            host = dict(scope.get("headers") or []).get(b"host", b"localhost").decode("latin-1")
            self.task = asyncio.get_running_loop().create_task(warm(self.datasette, host))
        await self.app(scope, receive, send)
