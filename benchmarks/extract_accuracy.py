"""Accuracy and speed of `bazhong-accounts extract` on the report corpus (archive/corpus.csv).

- For each corpus report with an expected-figures file (benchmarks/corpus/expected/<report>.csv,
  columns report,resource,row_key,column,value,where, written by a person from the PDF):
  precision = extracted figures equal to the expected ones / extracted figures at those keys;
  recall = expected figures extracted equal / expected figures. Values compare as decimals.
- For the package's own source (narrative outline), when its parser (`extract.narrative`) is
  installed: the round trip against the hand-made data/: share of the numeric cells of the
  resources below reproduced exactly, by primary key, and the cells that differ.
- Speed: a 40-page PDF (the Putuo report's pages repeated) read and parsed, best of 3.

    .venv/bin/python benchmarks/extract_accuracy.py [--out benchmarks/results/extract_accuracy.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from bazhong_accounts.extract.accuracy import round_trip, scorecard  # noqa: E402
from bazhong_accounts.extract.package import parse  # noqa: E402
from bazhong_accounts.extract.readers import read_report  # noqa: E402

CORPUS = ROOT / "archive" / "corpus.csv"
EXPECTED = ROOT / "benchmarks" / "corpus" / "expected"


def schemas() -> dict[str, dict]:
    """Every Table Schema of schemas/, listed in datapackage.json or not yet (expenditure_by_economic)."""
    import json

    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "schemas").glob("*.json"))}


def archived_source(path: str) -> tuple[str | None, int | None]:
    """(department, fiscal_year) of a corpus file that is a source of the project's package (its
    own report: the round trip needs its ids), else (None, None)."""
    with (ROOT / "data/sources.csv").open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["path"] == path:
                return r["department"], int(r["fiscal_year"])
    return None, None


def located(draft) -> set[tuple[str, str, str]]:
    """The figure cells a draft located (a figure printed twice is one cell)."""
    return {(s.resource, s.row_key, s.column) for s in draft.spans} if draft is not None else set()


def forty_pages(dest: Path) -> Path:
    """A 40-page PDF: the Putuo report's pages, repeated."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(str(ROOT / "archive/shanghai-putuo-social-work-dept-2024-final-accounts.pdf"))
    out = pdfium.PdfDocument.new()
    while len(out) < 40:
        out.import_pages(src, list(range(min(len(src), 40 - len(out)))))
    out.save(str(dest))
    return dest


def timing() -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        pdf = forty_pages(Path(tmp) / "forty.pdf")
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            text = read_report(pdf)
            parse(text, None, None)
            best = min(best, time.perf_counter() - t)
        return text.pages, best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/extract_accuracy.csv"))
    args = ap.parse_args(argv)
    rows = []
    with CORPUS.open(encoding="utf-8", newline="") as f:
        corpus = list(csv.DictReader(f))
    print("| report | outline | figures extracted | expected | precision | recall | round trip |")
    print("|---|---|---:|---:|---:|---:|---|")
    for c in corpus:
        report = read_report(ROOT / c["path"])
        try:
            draft, _, _ = parse(report, *archived_source(c["path"]))
        except Exception as e:  # noqa: BLE001 - a report the extractor cannot use is a result too
            draft, why = None, str(e).replace(f"{ROOT}/", "")  # no machine paths in committed results
        expected = EXPECTED / f"{c['report']}.csv"
        s = scorecard(draft, expected, schemas()) if draft is not None and expected.is_file() else None
        if draft is None and expected.is_file():  # nothing extracted: every expected figure missing
            n = sum(1 for _ in csv.DictReader(expected.open(encoding="utf-8")))
            s = {"expected": n, "right": 0, "precision": 1.0, "recall": 1.0 if n == 0 else 0.0,
                 "wrong": [], "missing": []}
        rt = round_trip(draft, ROOT) if draft is not None and c["outline"] == "narrative" else None
        row = {"report": c["report"], "outline": c["outline"], "figures": len(located(draft)),
               "expected": s["expected"] if s else "", "precision": f"{s['precision']:.4f}" if s else "",
               "recall": f"{s['recall']:.4f}" if s else "",
               "round_trip_share": f"{rt['share']:.4f}" if rt else "",
               "round_trip_differ": len(rt["differing"]) if rt else "",
               "note": "" if draft is not None else why}
        rows.append(row)
        trip = f"{rt['reproduced']}/{rt['cells']} cells ({rt['share']:.1%}), {len(rt['differing'])} differ" if rt else \
            ("narrative parser not installed" if draft is None and c["outline"] == "narrative" else "")
        n_expected = row["expected"] if row["expected"] != "" else "–"
        print(f"| {c['report']} | {c['outline']} | {row['figures']} | {n_expected} | "
              f"{s['precision']:.1%} | {s['recall']:.1%} | {trip} |" if s else
              f"| {c['report']} | {c['outline']} | {row['figures']} | – | – | – | {trip or row['note']} |")
        for w in (s or {}).get("wrong", []):
            print(f"  WRONG {w['resource']}[{w['row_key']}].{w['column']}: "
                  f"expected {w['value']}, extracted {w['draft']}")
        for m in (s or {}).get("missing", []):
            print(f"  missing {m['resource']}[{m['row_key']}].{m['column']} = {m['value']}")
        for d in (rt or {}).get("missing", []):
            print(f"  round trip: not reproduced {d['resource']}[{d['row_key']}].{d['column']} = {d['package']}")
        for d in (rt or {}).get("differing", []):
            print(f"  DIFFER {d['resource']}[{d['row_key']}].{d['column']}: package {d['package']}, "
                  f"extracted {d['draft']}")
    pages, seconds = timing()
    print(f"\n{pages}-page PDF read and parsed in {seconds:.2f} s (best of 3; target < 5 s)")
    rows.append({"report": f"timing: {pages}-page PDF", "note": f"{seconds:.3f} s"})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
