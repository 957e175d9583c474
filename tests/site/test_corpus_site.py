"""The extracted corpus served beside the hand-made package: a second database, `corpus`, built
the way `make serve` builds it (every report of archive/corpus.csv and the package's own source,
extracted into one package, built with --draft). Every one of its pages says its rows are
machine-extracted and not reviewed; the `bazhong` pages do not. Expected values come from the
extracted CSVs and from the strings written here."""

from __future__ import annotations

import asyncio
import csv
import json
import urllib.parse
from decimal import Decimal
from pathlib import Path

import pytest

from bazhong_accounts import cli
from bazhong_accounts.site.serve import built_databases, make_datasette

ROOT = Path(__file__).resolve().parents[2]
BANNER = {"zh": "机器提取的草稿", "en": "Machine-extracted draft"}
NOT_REVIEWED = {"zh": "未经人工审核", "en": "have not been reviewed by a person"}


def corpus_reports() -> list[str]:
    """What the Makefile's corpus target extracts: archive/corpus.csv's reports and the package's own source."""
    with (ROOT / "archive" / "corpus.csv").open(encoding="utf-8") as f:
        listed = [r["path"] for r in csv.DictReader(f)]
    own = [s["path"] for s in json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["sources"]]
    return [str(ROOT / p) for p in sorted(set(listed + own))]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """(extracted package directory, site/corpus/corpus.db built from it with --draft)."""
    tmp = tmp_path_factory.mktemp("corpus")
    pkg = tmp / "build" / "corpus"
    # exit 1: one report of the corpus (the blank Shanghai template) has no figure; the others are written
    cli.main(["extract", *corpus_reports(), "--out", str(pkg)])
    assert (pkg / "datapackage.json").is_file()
    db = tmp / "site" / "corpus" / "corpus.db"
    assert cli.main(["build", str(pkg), "--draft", "--no-charts", "--out", str(db)]) == 0
    return pkg, db


@pytest.fixture(scope="module")
def ds(corpus, site_db):
    d = make_datasette([site_db, corpus[1]])
    asyncio.run(d.invoke_startup())
    return d


def get(ds, path: str):
    r = asyncio.run(ds.client.get(path))
    assert r.status_code == 200, f"{path}: HTTP {r.status_code}: {r.text[:300]}"
    return r


def rows(pkg: Path, name: str) -> list[dict[str, str]]:
    with (pkg / "data" / f"{name}.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_corpus_database_has_the_rows_of_both_departments(ds, corpus):
    departments = {r["department"] for r in rows(corpus[0], "departments")}
    assert "bazhong-govt-office" in departments and len(departments) == 2
    got = get(ds, "/corpus.json?sql=" + urllib.parse.quote(
        "select distinct department from income order by department") + "&_shape=array").json()
    assert {r["department"] for r in got} == departments


def pages(db: str) -> list[str]:
    sql = urllib.parse.quote("select department, item_id, amount from income")
    return [f"/{db}", f"/{db}/income", f"/{db}/departments/bazhong-govt-office", f"/{db}?sql={sql}"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", range(4), ids=["database", "table", "row", "query"])
def test_every_corpus_page_says_machine_extracted_not_reviewed(ds, lang, page):
    path = pages("corpus")[page]
    html = get(ds, path + ("&" if "?" in path else "?") + f"_lang={lang}").text
    assert BANNER[lang] in html and NOT_REVIEWED[lang] in html, path


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", range(4), ids=["database", "table", "row", "query"])
def test_the_hand_made_database_has_no_draft_banner(ds, lang, page):
    path = pages("bazhong")[page]
    html = get(ds, path + ("&" if "?" in path else "?") + f"_lang={lang}").text
    assert BANNER[lang] not in html and "draft-banner" not in html, path


def test_the_build_recorded_the_validation_problems(corpus):
    meta = json.loads((corpus[1].parent / "metadata.json").read_text(encoding="utf-8"))["databases"]["corpus"]
    assert meta["draft"] is True
    # the Bazhong report's own share that does not add up (README: where the report contradicts itself)
    assert any("expenditure_by_function.csv" in p and "share_pct" in p for p in meta["validation_problems"])


def test_exact_sum_compares_departments_in_one_query(ds, corpus):
    expected: dict[str, Decimal] = {}
    for r in rows(corpus[0], "expenditure_by_function"):
        if r["level"] == "3":
            expected[r["department"]] = expected.get(r["department"], Decimal(0)) + Decimal(r["amount"])
    sql = ("select department, sum(amount) as total from expenditure_by_function where level = 3 "
           "group by department order by department")
    got = get(ds, "/corpus.json?sql=" + urllib.parse.quote(sql) + "&_shape=array").json()
    assert {r["department"]: Decimal(repr(r["total"])) for r in got} == expected
    assert len(expected) == 2


def test_without_draft_the_build_refuses_the_extracted_package(corpus, tmp_path, capsys):
    assert cli.main(["build", str(corpus[0]), "--no-charts", "--out", str(tmp_path / "x.db")]) == 1
    assert "build refused" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


def test_serve_serves_every_built_database_with_their_metadata_merged(corpus, site_db, tmp_path, monkeypatch,
                                                                     capsys):
    import datasette.cli

    site = tmp_path / "site"
    (site / "corpus").mkdir(parents=True)
    for src, dest in ((site_db, site), (corpus[1], site / "corpus")):
        for name in (src.name, "metadata.json"):
            (dest / name).write_bytes((src.parent / name).read_bytes())
    (site / "stray.db").write_bytes(b"")  # not built by us: not served
    assert built_databases(site) == [site / "bazhong.db", site / "corpus" / "corpus.db"]
    seen = {}

    def fake_main(args, prog_name):
        seen["args"] = args
        meta = Path(args[args.index("--metadata") + 1])
        seen["databases"] = set(json.loads(meta.read_text(encoding="utf-8"))["databases"])
        raise SystemExit(0)

    monkeypatch.setattr(datasette.cli.cli, "main", fake_main)
    monkeypatch.chdir(tmp_path)  # the default databases are those under ./site
    monkeypatch.setenv("BAZHONG_ACCOUNTS_DIR", "unset")
    assert cli.main(["serve", str(ROOT), "--port", "8124"]) == 0, capsys.readouterr().err
    args = " ".join(seen["args"])
    assert "-i site/bazhong.db -i site/corpus/corpus.db " in args
    assert seen["databases"] == {"bazhong", "corpus"}
