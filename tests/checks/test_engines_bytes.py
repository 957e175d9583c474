"""The byte pass of the SQL engines (checks/engines/bytes.py) counts what the load no longer
computes cell by cell: newlines inside quoted cells and cells quoted without need. The expected
counts come from how each test file is written (which cells were quoted, what they hold), and
the pass reads the files in blocks of a few bytes, so cells and escaped quotes span blocks."""

from __future__ import annotations

import random

import pytest

from bazhong_accounts.checks.engines import bytes as byte_pass
from bazhong_accounts.model.problems import Report

ALPHABET = ["a", "b", ",", '"', "\n", "中", " "]
BLOCKS = (1, 2, 3, 5, 8, 64, 1 << 20)


def _written(rnd: random.Random, per_row: list | None = None) -> tuple[bytes, int, int]:
    """(a CSV, newlines inside its quoted cells, cells quoted without need), quoting some cells
    that need no quotes on purpose; per_row gets the quoted newlines of each row."""
    ncol = rnd.randint(1, 4)
    lines, newlines, needless = [",".join(f"c{i}" for i in range(ncol))], 0, 0
    for _ in range(rnd.randint(0, 8)):
        if per_row is not None:
            per_row.append(newlines)
        cells = []
        for _ in range(ncol):
            value = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 5)))
            needs = any(ch in value for ch in ',"\n')
            if needs or rnd.random() < 0.3:
                needless += not needs
                newlines += value.count("\n")
                cells.append('"' + value.replace('"', '""') + '"')
            else:
                cells.append(value)
        lines.append(",".join(cells))
        if per_row is not None:
            per_row[-1] = newlines - per_row[-1]
    return ("\n".join(lines) + "\n").encode("utf-8"), newlines, needless


def _scan(tmp_path, data: bytes, monkeypatch, block: int):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    monkeypatch.setattr(byte_pass, "BLOCK", block)
    return byte_pass._scan(path, "t.csv", Report(), 0, False)


@pytest.mark.parametrize("seed", range(2))
def test_quoted_cells_are_counted_whatever_the_blocks(tmp_path, monkeypatch, seed):
    rnd = random.Random(seed)
    for _ in range(50):
        data, newlines, needless = _written(rnd)
        for block in BLOCKS:
            got = _scan(tmp_path, data, monkeypatch, block)
            assert got[:5] == (data.count(b"\n"), data.endswith(b"\n"), data.count(b'"'), newlines, needless), \
                (block, data)


@pytest.mark.parametrize("data, newlines, needless", [
    (b'a,b\n"x",y\n', 0, 1),  # quoted without need
    (b'a,b\n"x,1",y\n', 0, 0),  # a comma: needed
    (b'a,b\n"x""y",z\n', 0, 0),  # an escaped quote: needed
    (b'a,b\n"",z\n', 0, 1),  # an empty cell quoted
    (b'a,b\n"x\ny\nz",w\n"v",u\n', 2, 1),
    (b'a\n""""\n', 0, 0),  # the cell is one quote
])
def test_each_kind_of_quoted_cell(tmp_path, monkeypatch, data, newlines, needless):
    for block in BLOCKS:
        assert _scan(tmp_path, data, monkeypatch, block)[3:5] == (newlines, needless), block


def test_unpaired_quotes_leave_the_count_to_the_engine(tmp_path, monkeypatch):
    """A file that ends inside quotes: the pairing means nothing, so nothing is claimed."""
    for block in BLOCKS:
        assert _scan(tmp_path, b'a,b\n"x,y\n', monkeypatch, block)[3:] == (None, None, None), block


@pytest.mark.parametrize("seed", range(2))
def test_the_rows_holding_quoted_newlines_whatever_the_blocks(tmp_path, monkeypatch, seed):
    """lines.py maps a row to its line from these: each row holding newlines, with the running count."""
    rnd = random.Random(100 + seed)
    for _ in range(40):
        per_row: list[int] = []
        data, _, _ = _written(rnd, per_row)
        rows = [i for i, n in enumerate(per_row) if n]
        running = [sum(per_row[:i + 1]) for i in rows]
        for block in (3, 8, 64, 1 << 20):
            found, cums = _scan(tmp_path, data, monkeypatch, block)[5]
            assert (found.tolist(), cums.tolist()) == (rows, running), (block, data)


@pytest.mark.parametrize("data", [
    b'a,b\nx"y,1\nz,w"\n',  # quotes inside unquoted cells: DuckDB reads them as text
    b'a,b\n"x"y,"z\nw"\n',  # text after a closing quote
    b'a,b\n"x",y"\nz,w"\n',
])
def test_quotes_that_do_not_bound_cells_leave_the_count_to_the_engine(tmp_path, monkeypatch, data):
    """Paired, these quotes would put a newline in the wrong row: nothing is claimed."""
    for block in BLOCKS:
        assert _scan(tmp_path, data, monkeypatch, block)[3:] == (None, None, None), block


def test_the_quoted_newlines_of_a_cell_across_blocks_are_one_row(tmp_path, monkeypatch):
    data = b'a,b\nx,"1\n2\n3\n4"\ny,z\n"5\n",w\n'
    for block in BLOCKS:
        found, cums = _scan(tmp_path, data, monkeypatch, block)[5]
        assert (found.tolist(), cums.tolist()) == ([0, 2], [3, 4]), block


def test_blocks_mapped_from_the_page_cache_count_the_same(tmp_path, monkeypatch):
    """Blocks of a page's size are mapped (mmap), others read: both count every quoted cell and
    newline of a file of many blocks, whose cells span them."""
    import mmap

    rnd = random.Random(7)
    chunks, per_row, newlines, needless = [], [], 0, 0
    while sum(map(len, chunks)) < 5 * mmap.ALLOCATIONGRANULARITY:
        rows: list[int] = []
        data, n, k = _written(rnd, rows)
        per_row += ([0] if chunks else []) + rows  # a later chunk's header is a row too
        chunks, newlines, needless = chunks + [data], newlines + n, needless + k
    data = b"".join(chunks)
    rows = [i for i, n in enumerate(per_row) if n]
    running = [sum(per_row[:i + 1]) for i in rows]
    for block in (mmap.ALLOCATIONGRANULARITY, 2 * mmap.ALLOCATIONGRANULARITY, mmap.ALLOCATIONGRANULARITY - 1):
        got = _scan(tmp_path, data, monkeypatch, block)
        assert got[:5] == (data.count(b"\n"), True, data.count(b'"'), newlines, needless), block
        assert (got[5][0].tolist(), got[5][1].tolist()) == (rows, running), block


@pytest.mark.parametrize("block", [1 << 12, 5])
def test_the_first_crlf_is_reported_at_its_line_mapped_or_read(tmp_path, monkeypatch, block):
    data = b"a,b\n" + b"x,y\n" * 3000 + b"z,w\r\n" + b"u,v\r\n"
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    monkeypatch.setattr(byte_pass, "BLOCK", block)
    report = Report()
    byte_pass._scan(path, "t.csv", report, 0, False)
    assert [(p.line, p.message.split(";")[0]) for p in report.problems] == [(3002, "CRLF line endings (Windows)")]


def test_a_file_that_cannot_be_mapped_is_read(tmp_path, monkeypatch):
    import mmap

    def refused(*args, **kwargs):
        raise OSError(19, "No such device")  # what a file system without mmap says

    data = b'a,b\n"x\ny",z\n'
    monkeypatch.setattr(byte_pass.mmap, "mmap", refused)
    assert _scan(tmp_path, data, monkeypatch, mmap.ALLOCATIONGRANULARITY)[:5] == (3, True, 2, 1, 0)
