"""The banner of a database built from machine-extracted drafts (`build --draft`): every page of
it (database, table, row, query) says its rows are not reviewed by a person. The build records
"draft" in the database's metadata; the template _draft_banner.html shows the banner."""

from __future__ import annotations

from datasette import hookimpl


def is_draft(datasette, database: str | None) -> bool:
    # fallback=False: only the database's own metadata, never the site's top level
    return bool(database) and bool(datasette.metadata("draft", database=database, fallback=False))


@hookimpl
def extra_template_vars(database, datasette):
    return {"draft_database": is_draft(datasette, database)}
