"""Report file → text. The text is what gets archived beside the original file, and every figure's
span is an offset into it, so each reader returns one string and never changes it afterwards.

Tables keep their geometry: a PDF page is laid out in fixed columns from the characters' x
positions (as `pdftotext -layout` does), and a Word or HTML table is written as aligned columns,
so one table parser reads every format by column position (two-sided tables: income on the left,
expenditure on the right). Pages are separated by a form feed; the table parser joins a table
continued on the next page.

PDF characters and boxes come from pdfium (pypdfium2, the engine pdfplumber itself renders with):
pdfminer, which pdfplumber parses with, takes ~0.15 s a page, too slow for a 40-page report in
5 s.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

PAGE_BREAK = "\f"


class ReportError(Exception):
    """An input that cannot be used; the message is one line naming the file."""


@dataclass
class ReportText:
    path: Path
    text: str  # the archived text the spans refer to
    media_type: str  # of the original file
    pages: int = 0


def read_report(path: str | Path) -> ReportText:
    """The text of a report file, by its content (not only its suffix)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ReportError(f"{path}: cannot be read: {e.strerror or e}") from None
    if not data.strip():
        raise ReportError(f"{path}: empty file")
    kind = _kind(path, data)
    text, pages = READERS[kind](path, data)
    if kind != "text":  # a text file is archived as it is (its checksum stays the publisher's)
        text = _tidy(text)
    if not text.strip():
        raise ReportError(f"{path}: no text in the file")
    return ReportText(path, text, MEDIA_TYPES[kind], pages)


MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html",
    "text": "text/plain",
}


def _kind(path: Path, data: bytes) -> str:
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        if path.suffix.lower() in (".docx", "") or b"word/" in data[:4096]:
            return "docx"
        raise ReportError(f"{path}: a zip archive, not a .docx report")
    head = data[:2048].lower()
    if path.suffix.lower() in (".html", ".htm") or b"<html" in head or b"<!doctype html" in head:
        return "html"
    if path.suffix.lower() == ".doc" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ReportError(f"{path}: old binary Word (.doc) file; save it as .docx first")
    if path.suffix.lower() == ".pdf":
        raise ReportError(f"{path}: not a PDF (no %PDF- header): the file is damaged or mislabelled")
    return "text"


def _tidy(text: str) -> str:
    """LF line ends, no trailing blanks, no runs of more than two blank lines: the archived text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\u3000", "  ")
    lines = [ln.rstrip() for ln in text.split("\n")]
    out: list[str] = []
    blanks = 0
    for ln in lines:
        blanks = blanks + 1 if not ln.strip() else 0
        if blanks <= 2:
            out.append(ln)
    return "\n".join(out).strip("\n") + "\n"


# ---------------------------------------------------------------- PDF


def _read_pdf(path: Path, data: bytes) -> tuple[str, int]:
    import pypdfium2 as pdfium

    tail = data.rstrip()[-1024:]
    if b"%%EOF" not in tail:
        raise ReportError(f"{path}: truncated PDF (no %%EOF at the end): download it again")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        msg = str(e).lower()
        if "password" in msg:
            raise ReportError(f"{path}: encrypted PDF: open it with its password and save an unlocked copy") from None
        raise ReportError(f"{path}: damaged PDF ({e}): download it again") from None
    try:
        pages = [_layout_page(pdf[i]) for i in range(len(pdf))]
    finally:
        pdf.close()
    if sum(len(re.sub(r"\s", "", p)) for p in pages) < 20:
        raise ReportError(f"{path}: no text layer: run OCR first, e.g. ocrmypdf")
    return ("\n" + PAGE_BREAK).join(pages), len(pages)


@dataclass
class _Char:
    ch: str
    x0: float
    x1: float
    y: float  # vertical centre, top of page = 0
    h: float


def _page_chars(page) -> list[_Char]:
    import pypdfium2.raw as raw

    tp = page.get_textpage()
    height = page.get_height()
    chars = []
    for i in range(tp.count_chars()):
        code = raw.FPDFText_GetUnicode(tp.raw, i)
        ch = chr(code) if 0 < code < 0x110000 else ""
        if not ch or ch.isspace() or ch in "\ufffe\uffff":
            continue
        x0, y0, x1, y1 = tp.get_charbox(i, loose=True)
        if x1 <= x0 or y1 <= y0:
            continue
        chars.append(_Char(ch, x0, x1, height - (y0 + y1) / 2, y1 - y0))
    tp.close()
    return chars


def _layout_page(page) -> str:
    """The page's characters in lines (by vertical centre) and columns (by x)."""
    chars = _page_chars(page)
    if not chars:
        return ""
    widths = sorted(c.x1 - c.x0 for c in chars if ord(c.ch) > 0x2E80)
    cjk = widths[len(widths) // 2] if widths else 10.0
    lines: list[list[_Char]] = []
    for c in sorted(chars, key=lambda c: (c.y, c.x0)):
        if lines and abs(lines[-1][-1].y - c.y) <= max(lines[-1][-1].h, c.h) * 0.35:
            lines[-1].append(c)
        else:
            lines.append([c])
    heights = sorted(ln[0].h for ln in lines)
    line_h = heights[len(heights) // 2]
    out: list[str] = []
    prev_y = None
    for ln in lines:
        y = ln[0].y
        if prev_y is not None and y - prev_y > line_h * 2.2:
            out.append("")  # a visible gap: an empty line, as pdftotext -layout writes
        prev_y = y
        out.append(_render_line(sorted(ln, key=lambda c: c.x0), cjk))
    return "\n".join(out)


def _render_line(chars: list[_Char], cjk: float) -> str:
    """Characters closer than half a Chinese character form one run (a word, a cell); a run starts
    at the display column of its x position (a Chinese character is two columns wide), at least
    two spaces after the previous run, so cells stay apart and aligned cells stay aligned."""
    unit = cjk / 2
    s, width, prev = "", 0, None
    for c in chars:
        if prev is not None and c.x0 - prev.x1 < cjk * 0.5:
            if c.x0 - prev.x1 > cjk * 0.25:
                s, width = s + " ", width + 1
        else:
            col = int(round(c.x0 / unit))
            pad = max(col - width, 2 if prev is not None else 0)
            s, width = s + " " * pad, width + pad
        s += c.ch
        width += _display_width(c.ch)
        prev = c
    return s


# ---------------------------------------------------------------- Word, HTML


def _display_width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def render_table(rows: list[list[str]]) -> str:
    """Cells as aligned columns (two spaces between), so a table reads like a laid-out PDF page.
    A cell's lines are joined: a wrapped name is one name."""
    rows = [[re.sub(r"\s+", "", c) if re.search(r"[\u4e00-\u9fff]", c) else " ".join(c.split())
             for c in r] for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ""
    n = max(len(r) for r in rows)
    rows = [r + [""] * (n - len(r)) for r in rows]
    width = [max(_display_width(r[i]) for r in rows) for i in range(n)]
    out = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            pad = width[i] - _display_width(c)
            # numbers right-aligned like a printed table; text left-aligned
            cells.append(" " * pad + c if _is_number(c) else c + " " * pad)
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def _is_number(s: str) -> bool:
    return bool(re.fullmatch(r"-?[\d,]+(\.\d+)?%?", s.strip()))


def _read_docx(path: Path, data: bytes) -> tuple[str, int]:
    import io
    import zipfile

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        doc = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ReportError(f"{path}: damaged .docx ({e})") from None
    parts = []
    for block in doc.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            parts.append(Paragraph(block, doc).text)
        elif tag == "tbl":
            table = Table(block, doc)
            parts.append(render_table([_unique_cells(r.cells) for r in table.rows]))
    return "\n".join(parts), 0


def _unique_cells(cells) -> list[str]:
    """A merged Word cell is returned once per grid column it spans; keep it once."""
    out, seen = [], None
    for c in cells:
        if seen is not None and c._tc is seen:
            out.append("")
            continue
        seen = c._tc
        out.append(c.text)
    return out


BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "br", "tr", "section", "article", "title"}


def _read_html(path: Path, data: bytes) -> tuple[str, int]:
    import lxml.html

    try:
        root = lxml.html.document_fromstring(_decode(path, data, html=True))
    except Exception as e:  # noqa: BLE001 - lxml raises several types for unparseable input
        raise ReportError(f"{path}: not readable as HTML ({type(e).__name__}: {e})") from None
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    out: list[str] = []
    _walk_html(root.body if root.find("body") is not None else root, out)
    return "\n".join(x for x in "".join(out).split("\n")), 0


def _walk_html(el, out: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "table":
        rows = [[cell.text_content() for cell in tr.xpath("./td|./th")] for tr in el.xpath(".//tr")]
        out.append("\n" + render_table(rows) + "\n")
        if el.tail:
            out.append(el.tail)
        return
    if tag in BLOCKS:
        out.append("\n")
    if el.text:
        out.append(el.text)
    for child in el:
        _walk_html(child, out)
    if tag in BLOCKS:
        out.append("\n")
    if el.tail:
        out.append(el.tail)


# ---------------------------------------------------------------- plain text


def _decode(path: Path, data: bytes, html: bool = False) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if html:
        m = re.search(rb"charset=[\"']?([A-Za-z0-9_-]+)", data[:4096])
        if m:
            try:
                return data.decode(m.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                pass
    try:  # GB18030 is a superset of GBK and GB2312, the encodings of Chinese government sites
        return data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ReportError(f"{path}: binary data or an unknown text encoding (not UTF-8 nor GB18030/GBK)")
    return str(best)


def _read_text(path: Path, data: bytes) -> tuple[str, int]:
    if b"\x00" in data[:4096]:
        raise ReportError(f"{path}: binary file, not a report (PDF, .docx, HTML or text)")
    return _decode(path, data), 0


READERS = {"pdf": _read_pdf, "docx": _read_docx, "html": _read_html, "text": _read_text}
