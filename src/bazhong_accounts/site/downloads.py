"""Downloads people can open, from every table and query page: /-/download.{excel.csv,csv,xlsx}?path=…

- excel.csv: UTF-8 with a BOM and CRLF, so Excel on a Chinese system shows the Chinese;
- csv: plain UTF-8, LF, no BOM (the project's CSV form);
- xlsx: numbers as numbers.
Numbers as printed: 91, not 91.0 (SQLite REAL columns), the shortest exact form otherwise.
`_headers=zh` writes the columns' Chinese titles instead of their names. The rows are those the
page shows (same filters, sort and parameters), read through Datasette's own JSON.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qsl, quote, urlencode

from datasette import hookimpl
from datasette.utils.asgi import Response

from . import i18n

MAX_ROWS = 100_000  # a table download follows the pages up to this many rows
FORMATS = {
    "excel.csv": "text/csv; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def cell_text(value) -> str:
    if value is None:
        return ""
    return i18n.number_text(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def cell_value(value):
    """A value for xlsx: integral floats as int, so Excel shows 91 not 91.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def csv_bytes(columns: list[str], header: list[str], rows: list[dict], excel: bool) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if excel else "\n")
    w.writerow(header)
    for row in rows:
        w.writerow([cell_text(row.get(c)) for c in columns])
    return (b"\xef\xbb\xbf" if excel else b"") + buf.getvalue().encode("utf-8")


def xlsx_bytes(columns: list[str], header: list[str], rows: list[dict], title: str) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31] or "data"
    ws.append(header)
    for row in rows:
        ws.append([cell_value(row.get(c)) for c in columns])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def target_of(datasette, path: str | None) -> tuple[str, str] | None:
    """(database, table or canned query) of a page path of ours, else None."""
    parts = (path or "").strip("/").split("/")
    if len(parts) != 2 or parts[0] not in i18n.our_databases(datasette) or not parts[1]:
        return None
    return parts[0], parts[1]


async def fetch_rows(datasette, path: str, args: list[tuple[str, str]]) -> tuple[list[str], list[dict], str | None]:
    """Columns and rows of the page at `path` with `args`, following the next pages; or an error."""
    query = [(k, v) for k, v in args if k not in ("_shape", "_size", "_labels", "_next", "_headers")]
    url = f"{path}.json?" + urlencode(query + [("_shape", "objects"), ("_size", "max"), ("_labels", "off")])
    columns: list[str] | None = None
    rows: list[dict] = []
    while url and len(rows) < MAX_ROWS:
        r = await datasette.client.get(url)
        if r.status_code != 200:
            return [], [], r.json().get("error") if r.headers.get("content-type", "").startswith("application/json") \
                else f"HTTP {r.status_code}"
        data = r.json()
        columns = columns or data.get("columns") or (list(data["rows"][0]) if data.get("rows") else [])
        rows.extend(data.get("rows", []))
        url = data.get("next_url")
        if url and "://" in url:
            url = "/" + url.split("://", 1)[1].split("/", 1)[1]
    return columns or [], rows, None


async def download_view(request, datasette):
    fmt = request.url_vars["format"]
    lang = i18n.lang_of(request)
    args = parse_qsl(request.query_string, keep_blank_values=True)
    path = dict(args).get("path")
    target = target_of(datasette, path)
    if target is None:
        why = (f"不能下载 {path!r}：请从数据表或查询页面上的下载链接进入。" if lang == "zh"
               else f"Cannot download {path!r}: use the download links on a table or query page.")
        return await i18n.error_response(datasette, request, 400, why, localized=True)
    columns, rows, error = await fetch_rows(datasette, path, [(k, v) for k, v in args if k != "path"])
    if error:
        return await i18n.error_response(datasette, request, 400, error)
    name = target[1]
    header = [i18n.column_title(name, c, "zh") for c in columns] if dict(args).get("_headers") == "zh" else columns
    body = (xlsx_bytes(columns, header, rows, name) if fmt == "xlsx"
            else csv_bytes(columns, header, rows, excel=fmt == "excel.csv"))
    filename = f"{name}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
    return Response(body, content_type=FORMATS[fmt], headers={
        "content-disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"})


@hookimpl
def register_routes(datasette):
    if not i18n.our_databases(datasette):
        return []
    return [(r"^/-/download\.(?P<format>excel\.csv|csv|xlsx)$", download_view)]
