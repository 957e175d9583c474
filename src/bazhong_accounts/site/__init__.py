"""The Datasette site: SQLite build, metadata and canned queries, charts, the plugin and `serve`."""
