"""The file checks of checks/files.py that look at bytes, not cells (missing, empty, binary, JSON,
encoding, BOM, CRLF, header against the schema), streamed in blocks so memory does not grow
with the file. They stay in Python for every engine: one cheap pass, the messages of files.py."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

from ...model.problems import Report
from ..files import FMT_HINT, _encoding_problem, _header_problems

BLOCK = 16 << 20


@dataclass
class FileFacts:
    header: list[str]
    newlines: int  # b"\n" in the file, to tell whether rows map to lines simply
    ends_with_newline: bool
    quotes: int = 0  # b'"' in the file, for the canonical form check (canonical_sql): no second read


def _stream(path: Path):
    """The file in blocks, read into one reused buffer (a new 16 MB bytes object per block cost
    as much again as counting its newlines: allocation and page faults). A block is valid until
    the next one is read."""
    buf = bytearray(BLOCK)
    with open(path, "rb", buffering=0) as fh:
        while size := fh.readinto(buf):
            yield buf if size == BLOCK else buf[:size]


def _scan(path: Path, rel: str, report: Report, skip: int, decode: bool = True) -> tuple[int, bool, int] | None:
    """(newlines, ends with newline, quotes), reporting the first CR; None when not UTF-8 (reported).
    decode=False leaves the UTF-8 check to an engine that makes it while reading."""
    decoder = codecs.getincrementaldecoder("utf-8")() if decode else _NoDecoder()
    newlines, quotes, seen, cr_line, last = 0, 0, 0, None, b""
    for block in _stream(path):
        if seen == 0 and skip:
            block = block[skip:]
        try:
            decoder.decode(block)
        except UnicodeDecodeError:
            data = path.read_bytes()[skip:]  # the error path only: files.py's message, with its GBK hint
            line, msg = _encoding_problem(data)
            report.add(rel, line, None, msg)
            return None
        if cr_line is None and (cr := block.find(b"\r")) >= 0:
            cr_line = newlines + block.count(b"\n", 0, cr) + 1
        block_newlines, block_quotes = _count_newlines_and_quotes(block)
        newlines, quotes = newlines + block_newlines, quotes + block_quotes
        seen += len(block)
        last = bytes(block[-1:])
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        data = path.read_bytes()[skip:]
        line, msg = _encoding_problem(data)
        report.add(rel, line, None, msg)
        return None
    if cr_line is not None:
        report.add(rel, cr_line, None, f"CRLF line endings (Windows); use LF only; {FMT_HINT}")
    return newlines, last == b"\n", quotes


def _count_newlines_and_quotes(block: bytearray) -> tuple[int, int]:
    """b"\n" and b'"' in the block: numpy compares 16 bytes at a time, bytes.count one (2.5x
    slower); the quotes cost the canonical form check a second read of every file otherwise."""
    import numpy as np

    data = np.frombuffer(block, np.uint8)
    return int(np.count_nonzero(data == 10)), int(np.count_nonzero(data == 34))


class _NoDecoder:
    def decode(self, block: bytes, final: bool = False) -> str:
        return ""


def encoding_problem(path: Path, rel: str, report: Report) -> bool:
    """Report the file's first invalid UTF-8 byte (files.py's message); False if there is none."""
    data = path.read_bytes()
    found = _encoding_problem(data[3:] if data.startswith(codecs.BOM_UTF8) else data)
    if found:
        report.add(rel, found[0], None, found[1])
    return found is not None


def check_bytes(root: Path, name: str, rel: str, schema: dict, schema_path: str,
                report: Report, decode: bool = True) -> FileFacts | None:
    """Pre-read checks of one CSV; None when its rows cannot be read."""
    path = root / rel
    fields = [f["name"] for f in schema["fields"]]
    if not path.is_file():
        report.add(rel, message=f"file missing: resource `{name}` of datapackage.json points to it")
        return None
    with open(path, "rb") as fh:
        head = fh.read(65536)
    blank = b" \t\r\n" + codecs.BOM_UTF8
    if not head.strip(blank) and (len(head) < 65536 or not path.read_bytes().strip(blank)):
        report.add(rel, message=f"empty file: expected at least the header row ({','.join(fields[:3])},…)")
        return None
    if b"\x00" in head:
        report.add(rel, message="binary file, not a CSV (it contains NUL bytes)")
        return None
    skip = 0
    if head.startswith(codecs.BOM_UTF8):
        report.add(rel, 1, None, f"UTF-8 byte order mark (BOM) at the start of the file; {FMT_HINT}")
        skip = len(codecs.BOM_UTF8)
        head = head[skip:]
    first = head.split(b"\n", 1)[0]
    try:
        first.decode("utf-8")
    except UnicodeDecodeError:
        line, msg = _encoding_problem(path.read_bytes()[skip:])
        report.add(rel, line, None, msg)
        return None
    if head[:4096].lstrip()[:1] in (b"{", b"["):
        report.add(rel, 1, None, "not a CSV file: it looks like JSON")
        return None
    scanned = _scan(path, rel, report, skip, decode)
    if scanned is None:
        return None
    header = next(csv.reader([first.decode("utf-8").rstrip("\r")]))
    if len(header) == 1 and len(fields) > 1 and header[0] not in fields:
        report.add(rel, 1, None, f"not a CSV file: the first line has no commas (expected the header {','.join(fields[:3])},…)")
        return None
    if not _header_problems(rel, header, fields, schema_path, report):
        return None
    return FileFacts(header, *scanned)
