"""The file checks of checks/files.py that look at bytes, not cells (missing, empty, binary, JSON,
encoding, BOM, CRLF, header against the schema), streamed in blocks so memory does not grow
with the file. They stay in Python for every engine: one cheap pass, the messages of files.py."""

from __future__ import annotations

import codecs
import csv
import mmap
from dataclasses import dataclass
from pathlib import Path

from ...model.problems import Report
from ..files import FMT_HINT, _encoding_problem, _header_problems

# 2 MB: numpy's comparisons write a byte per byte read, and at 16 MB those arrays left the CPU's
# caches (N = 10,000, the byte pass of every file, medians of 5 alternated: 1.06 s CPU at 16 MB,
# 0.90 at 2 MB, 0.92 at 1 MB, 1.03 at 512 KB, where the per-block Python of QuotedCells grows)
BLOCK = 2 << 20


@dataclass
class FileFacts:
    header: list[str]
    newlines: int  # b"\n" in the file, to tell whether rows map to lines simply
    ends_with_newline: bool
    quotes: int = 0  # b'"' in the file, for the canonical form check (canonical_sql): no second read
    # from the quote characters' positions (QuotedCells), None when the quoting did not pair up:
    quoted_newlines: int | None = None  # newlines inside quoted cells (0: lines.py needs no count per row)
    needless_quotes: int | None = None  # quoted cells without a comma, quote or newline (0: minimal quoting)
    # (rows holding quoted newlines, 0-based below the header; the newlines up to and including
    # each): lines.py's map, so the engine counts no newline cell by cell
    newline_rows: tuple | None = None


def _stream(path: Path):
    """The file in blocks, each mapped from the page cache (mmap: no copy; a block's pages leave
    the process with it, so memory does not grow with the file), or where a block cannot be
    mapped (its size not a multiple of the page's) read into one reused buffer (a new bytes
    object per block cost as much again as counting its newlines). Reading the blocks was a third
    of the pass's CPU, mapping them is a tenth. A block is valid until the next one is read."""
    if BLOCK % mmap.ALLOCATIONGRANULARITY or not _mappable(path):
        yield from _read_blocks(path)
        return
    size = path.stat().st_size
    with open(path, "rb") as fh:
        for start in range(0, size, BLOCK):
            block = mmap.mmap(fh.fileno(), min(BLOCK, size - start), offset=start, access=mmap.ACCESS_READ)
            yield block
            try:
                block.close()
            except BufferError:  # a view of it is still held: unmapped when that goes
                pass


def _mappable(path: Path) -> bool:
    """The file can be mapped (not every file system maps files; an empty file cannot be)."""
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), min(BLOCK, path.stat().st_size), access=mmap.ACCESS_READ):
            return True
    except (OSError, ValueError):
        return False


def _read_blocks(path: Path):
    buf = bytearray(BLOCK)
    with open(path, "rb", buffering=0) as fh:
        while size := fh.readinto(buf):
            yield buf if size == BLOCK else buf[:size]


def _scan(path: Path, rel: str, report: Report, skip: int, decode: bool = True) -> tuple | None:
    """(newlines, ends with newline, quotes, quoted newlines, needless quotes), reporting the first
    CR; None when not UTF-8 (reported). decode=False leaves the UTF-8 check to an engine that
    makes it while reading."""
    decoder = codecs.getincrementaldecoder("utf-8")() if decode else _NoDecoder()
    newlines, quotes, seen, cr_line, last = 0, 0, 0, None, b""
    cells = QuotedCells()
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
            cr_line = newlines + bytes(block[:cr]).count(b"\n") + 1  # once a file: a mapped block has no count()
        block_newlines, block_quotes = _count_newlines_and_quotes(block, cells)
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
    return (newlines, last == b"\n", quotes, *cells.result())


def _count_newlines_and_quotes(block: bytearray, cells: QuotedCells | None = None) -> tuple[int, int]:
    """b"\n" and b'"' in the block: numpy compares 16 bytes at a time, bytes.count one (2.5x
    slower); the quotes cost the canonical form check a second read of every file otherwise.
    cells: fed the block's quote positions (only a block with quotes, or inside a quoted cell,
    is looked at again)."""
    import numpy as np

    data = np.frombuffer(block, np.uint8)
    scratch = cells.scratch(len(data)) if cells is not None else (None, None, None)
    newline = np.equal(data, 10, out=scratch[0])
    newlines = int(np.count_nonzero(newline))
    if block.find(b'"') < 0:  # memchr: a block without quotes (many files have none) not compared again
        quotes = np.zeros(0, np.intp)
    else:
        quotes = np.flatnonzero(np.equal(data, 34, out=scratch[1]))
    if cells is None:
        return newlines, len(quotes)
    cells.feed(data, newline, quotes, newlines)
    return newlines, len(quotes)


class QuotedCells:
    """The quoted cells of a CSV from the positions of its quote characters, block by block:
    how many newlines they hold (lines.py) and how many hold no comma, quote or newline (quoted
    without need: not the canonical form). The engine computed both cell by cell while reading
    (N = 10,000: about 2 s CPU of DuckDB); here numpy looks only at the quotes and at the bytes
    between them.

    Quotes pair up: an even one opens a cell's quoted text, the next one closes it; a quote
    right after a closing one is an escaped quote ("" inside the cell: the cell needs quotes). A
    cell's text may span blocks. The pairing holds when every opening quote starts a cell (after
    a comma, a newline or a closing quote) and every closing quote ends one (before a comma, a
    newline, an escaped quote or the end): DuckDB reads a quote inside an unquoted cell (`a"b`)
    as text, which would shift the pairing. If the file ends inside quotes, or a quote is found
    elsewhere, the pairing means nothing: result() is (None, None, None) and the engine counts
    cell by cell (so does a malformed file that the engine refuses anyway).

    The rows holding quoted newlines come from the same positions: a newline outside quotes
    ends a row, so a quoted newline belongs to the row after the header numbered by the
    unquoted newlines before it (a blank line breaks that numbering: lines.py sees the file's
    newlines not add up and reads it with the csv module)."""

    ENDS = (44, 10, 34)  # comma, newline, quote: what may stand before an opening quote or after a closing one

    def __init__(self):
        self.inside = False  # the last block ended inside a quoted text
        self.open_special = False  # ... and that text holds a comma or a newline so far
        self.pending: bool | None = None  # need of the last cell, which may go on (None: none)
        self.closed_at_end = False  # the last block ended with the pending cell's closing quote
        self.newlines = self.needless = 0
        self.unquoted = 0  # newlines outside quotes so far: the header's and the rows' ends
        self.rows: list = []  # per block: (rows holding quoted newlines, how many each)
        self.before = 10  # the byte before this block (a newline before the file: a cell starts)
        self.broken = False  # a quote that neither starts nor ends a cell: no pairing
        self._scratch: tuple | None = None

    def scratch(self, size: int) -> tuple:
        """Three boolean arrays of `size`, allocated once per file: a new array per block
        and comparison cost more than the comparison (page faults; the 12 ms of a 4 ms compare at 16 MB)."""
        import numpy as np

        if self._scratch is None or len(self._scratch[0]) < size:
            self._scratch = tuple(np.empty(size, bool) for _ in range(3))
        return tuple(a[:size] for a in self._scratch)

    def feed(self, data, newline, quotes, newlines: int) -> None:
        """One block: its bytes, where its newlines are, its quotes' positions, its newlines."""
        import numpy as np

        if self.broken:
            return
        if self.closed_at_end and data[0] not in self.ENDS:  # the quote closing the last block
            self.broken = True
            return
        if not len(quotes):
            if self.inside:
                self.open_special |= bool(newline.any() or np.equal(data, 44, out=self.scratch(len(data))[2]).any())
                self._quoted_newlines(np.zeros(newlines, np.int64))
            else:
                self.unquoted += newlines
                if self.pending is not None:
                    self._finish(self.pending)
            self.closed_at_end = False
            self.before = data[-1]
            return
        size = len(data)
        if self.inside:  # the first quote closes the text opened in an earlier block
            opens, closes = np.concatenate(([-1], quotes[1::2])), quotes[0::2]
        else:
            opens, closes = quotes[0::2], quotes[1::2]
        unclosed = len(opens) > len(closes)
        ends = np.concatenate((closes, [size])) if unclosed else closes
        if not self._cells_bounded(data, opens, closes):
            self.broken = True
            return
        starts = opens + 1  # the quoted text of segment i: data[starts[i]:ends[i]]
        special, with_newline = self._segment_contents(data, newline, starts, ends)
        if with_newline:
            self._newlines_in(newline, starts, ends, newlines)
        else:
            self.unquoted += newlines
        # a segment that starts right after the previous one's closing quote continues its cell
        continues = np.empty(len(opens), bool)
        continues[1:] = opens[1:] == closes[:len(opens) - 1] + 1
        if self.inside:
            continues[0] = True
            special[0] |= self.open_special
        else:
            continues[0] = self.closed_at_end and opens[0] == 0 and self.pending is not None
        need = special | continues  # an escaped quote, or a comma or a newline in the text
        if self.inside:
            need[0] = special[0]  # the same text going on, not an escaped quote
        new_cell = ~continues
        if new_cell[0] and self.pending is not None:
            self._finish(self.pending)
        firsts = np.flatnonzero(new_cell)
        if not new_cell[0]:
            firsts = np.concatenate(([0], firsts))
        cell_need = np.logical_or.reduceat(need, firsts)
        if not new_cell[0]:
            cell_need[0] |= bool(self.pending)
        self.inside = unclosed
        self.open_special = bool(special[-1]) if unclosed else False
        self.closed_at_end = not unclosed and closes[-1] == size - 1
        last_goes_on = unclosed or self.closed_at_end
        done = cell_need[:-1] if last_goes_on else cell_need
        self.needless += int(len(done) - np.count_nonzero(done))
        self.pending = bool(cell_need[-1]) if last_goes_on else None
        self.before = data[-1]

    def _cells_bounded(self, data, opens, closes) -> bool:
        """Every opening quote of the block starts a cell and every closing quote ends one (the
        last byte's closing quote is looked at with the next block's first byte)."""
        size = len(data)
        first = opens[0] == -1  # the text opened in an earlier block goes on: no opening quote here
        at = opens[1:] if first else opens
        if len(at) and at[0] == 0:
            if self.before not in self.ENDS:
                return False
            at = at[1:]
        shut = closes[:-1] if len(closes) and closes[-1] == size - 1 else closes
        return _all_ends(data[at - 1]) and _all_ends(data[shut + 1])

    def _segment_contents(self, data, newline, starts, ends):
        """(holds a comma or newline, for each segment data[starts[i]:ends[i]]; whether any holds
        a newline): logical_or.reduceat over the bounds."""
        import numpy as np

        comma = self.scratch(len(data))[2]
        special = np.zeros(len(starts), bool)
        full = np.flatnonzero(ends > starts)
        if not len(full):
            return special, False
        bounds = np.empty(2 * len(full), np.int64)
        bounds[0::2], bounds[1::2] = starts[full], ends[full]
        if bounds[-1] >= len(data):  # a text open at the end of the block: reduceat reads to the end
            bounds = bounds[:-1]
        with_newline = np.logical_or.reduceat(newline, bounds)[0::2]
        special[full] = with_newline | np.logical_or.reduceat(np.equal(data, 44, out=comma), bounds)[0::2]
        return special, bool(with_newline.any())

    def _newlines_in(self, newline, starts, ends, newlines: int) -> None:
        """The block's newlines told apart, quoted or not: each newline's position searched
        among the segments' bounds (inside a segment: an odd count of bounds at or before it)."""
        import numpy as np

        bounds = np.empty(2 * len(starts), np.int64)
        bounds[0::2], bounds[1::2] = starts, ends
        at = np.flatnonzero(newline)
        quoted = np.flatnonzero(np.searchsorted(bounds, at, side="right") & 1)
        # the unquoted newlines before each quoted one: its index among all, less the quoted before it
        self._quoted_newlines(quoted - np.arange(len(quoted)))
        self.unquoted += newlines - len(quoted)

    def _quoted_newlines(self, unquoted_before) -> None:
        """Quoted newlines of the block, given the unquoted newlines of the block before each
        (nondecreasing): counted per row, run-length encoded."""
        import numpy as np

        if not len(unquoted_before):
            return
        self.newlines += len(unquoted_before)
        rows = unquoted_before + (self.unquoted - 1)  # the header's newline ends no row
        firsts = _run_starts(rows)
        self.rows.append((rows[firsts], np.diff(np.append(firsts, len(rows)))))

    def _finish(self, needed: bool) -> None:
        self.needless += int(not needed)
        self.pending = None

    def result(self) -> tuple[int | None, int | None, tuple | None]:
        """(quoted newlines, needless quotes, FileFacts.newline_rows), all None without a pairing."""
        import numpy as np

        if self.inside or self.broken:
            return None, None, None
        if self.pending is not None:
            self._finish(self.pending)
        rows = np.concatenate([r for r, _ in self.rows]) if self.rows else np.zeros(0, np.int64)
        counts = np.concatenate([c for _, c in self.rows]) if self.rows else np.zeros(0, np.int64)
        firsts = _run_starts(rows)
        # a row whose newlines span two blocks comes twice: added up
        counts = np.add.reduceat(counts, firsts) if len(rows) else counts
        return self.newlines, self.needless, (rows[firsts], np.cumsum(counts))


def _run_starts(rows):
    """Where each run of equal values of `rows` starts (rows of the quoted newlines, in order)."""
    import numpy as np

    return np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1]))) if len(rows) else rows


def _all_ends(found) -> bool:
    """Every byte is a comma, a newline or a quote (QuotedCells.ENDS; np.isin is slower)."""
    return bool(((found == 44) | (found == 10) | (found == 34)).all())


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
