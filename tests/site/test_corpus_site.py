"""The extracted corpus served beside the hand-made package: a second database, `corpus`, built
the way `make serve` builds it (every report of archive/corpus.csv and the package's own source,
extracted into one package, built with --draft). Every one of its pages says its rows are
machine-extracted and not reviewed; the `bazhong` pages do not. Expected values come from the
extracted CSVs and from the strings written here."""

from __future__ import annotations

import asyncio
import csv
import html
import json
import os
import re
import urllib.parse
from decimal import Decimal
from pathlib import Path

import pytest

from bazhong_accounts import cli
from bazhong_accounts.site.serve import SERVE_ENV, built_databases, create_app, make_datasette
from conftest import made_once_shared

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
    """(extracted package directory, site/corpus/corpus.db built from it with --draft), made once
    per run (made_once_shared: a module split between the workers made it twice). Read them only."""
    return made_once_shared(tmp_path_factory, "corpus", lambda: extracted_and_built(tmp_path_factory))


def extracted_and_built(tmp_path_factory) -> tuple[Path, Path]:
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
    import uvicorn

    site = tmp_path / "site"
    (site / "corpus").mkdir(parents=True)
    for src, dest in ((site_db, site), (corpus[1], site / "corpus")):
        for name in (src.name, "metadata.json"):
            (dest / name).write_bytes((src.parent / name).read_bytes())
    (site / "stray.db").write_bytes(b"")  # not built by us: not served
    assert built_databases(site) == [site / "bazhong.db", site / "corpus" / "corpus.db"]
    seen = {}

    def fake_run(app, **options):
        seen["spec"] = json.loads(os.environ[SERVE_ENV])

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.chdir(tmp_path)  # the default databases are those under ./site
    monkeypatch.setenv("BAZHONG_ACCOUNTS_DIR", "unset")
    monkeypatch.setenv(SERVE_ENV, "unset")
    assert cli.main(["serve", str(ROOT), "--port", "8124"]) == 0, capsys.readouterr().err
    assert seen["spec"]["dbs"] == [str(site / "bazhong.db"), str(site / "corpus" / "corpus.db")]
    # what each worker serves: both databases, immutable, their metadata merged
    monkeypatch.setenv(SERVE_ENV, json.dumps(seen["spec"]))
    ds = create_app().datasette
    assert set(ds.metadata()["databases"]) == {"bazhong", "corpus"}
    assert all(not ds.databases[name].is_mutable for name in ("bazhong", "corpus"))


# ---------------------------------------------------------------- comparing two department-years


def table_lines(page: str, section: str) -> list[dict[str, tuple[str, str | None]]]:
    """The lines of one section of a comparison: data-title -> (text, link) of each cell."""
    part = page[page.index(f'id="{section}"'):]
    part = part[:part.index("</section>")]
    out = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", part, flags=re.S)[1:]:
        cells = re.findall(r'<td class="[^"]*" data-title="([^"]*)">(.*?)</td>', tr, flags=re.S)
        out.append({html.unescape(t): (html.unescape(re.sub(r"<[^>]+>|（推算）| ?\(derived\)", "", c)).strip(),
                                       (re.findall(r'<a href="([^"]+)"', c) or [None])[0]) for t, c in cells})
    return out


def test_two_department_years_side_by_side_each_figure_linked_and_differences_exact(ds, corpus):
    other = next(r for r in rows(corpus[0], "departments") if r["department"] != "bazhong-govt-office")
    year = next(r["fiscal_year"] for r in rows(corpus[0], "sources") if r["department"] == other["department"])
    page = get(ds, f"/-/compare/bazhong-govt-office/2018/{other['department']}/{year}").text
    assert BANNER["zh"] in page and NOT_REVIEWED["zh"] in page  # one side comes from the draft database
    # A: the hand-made (reviewed) database; B: the corpus, the only one that has it
    a = {r["item_id"]: r for r in rows(ROOT, "income")}
    b = {r["item_id"]: r for r in rows(corpus[0], "income") if r["department"] == other["department"]}
    lines = [line for line in table_lines(page, "income") if line["数字"][0] == "金额"]
    both = [k for k in a if k in b and a[k]["amount"] and b[k]["amount"]]
    assert both, "no income line in both reports"
    for key in both:
        line = next(x for x in lines if x["A"][1] == f"/bazhong/income/2018,bazhong-govt-office,{key}")
        a_cell, b_cell = line["A"], line["B"]
        assert Decimal(a_cell[0]) == Decimal(a[key]["amount"])
        assert Decimal(b_cell[0]) == Decimal(b[key]["amount"])
        assert b_cell[1] == f"/corpus/income/{year},{other['department']},{key}"
        assert Decimal(line["B − A"][0]) == Decimal(b[key]["amount"]) - Decimal(a[key]["amount"])
        assert "e" not in line["B − A"][0].lower()  # exact decimal text, no float noise or exponent
    for key in (k for k in a if k not in b and a[k]["amount"]):  # a line only A has: no difference
        line = next(x for x in lines if x["A"][1] == f"/bazhong/income/2018,bazhong-govt-office,{key}")
        assert line["B − A"][0] == "–"
    english = get(ds, f"/-/compare/bazhong-govt-office/2018/{other['department']}/{year}?_lang=en").text
    assert "Comparison:" in english and BANNER["en"] in english and other["name_en"] in english


def test_the_chooser_leads_to_the_stable_comparison_url(ds, corpus):
    other = next(r for r in rows(corpus[0], "departments") if r["department"] != "bazhong-govt-office")
    home = get(ds, "/").text
    assert 'action="/-/compare"' in home and f'value="{other["department"]}/' in home
    card = get(ds, "/-/report/bazhong-govt-office/2018").text
    assert 'action="/-/compare"' in card and f'<option value="{other["department"]}/' in card
    year = next(r["fiscal_year"] for r in rows(corpus[0], "sources") if r["department"] == other["department"])
    asked = f"/-/compare?a=bazhong-govt-office/2018&b={other['department']}/{year}"
    r = asyncio.run(ds.client.get(asked))
    assert r.status_code == 302
    assert r.headers["location"] == f"/-/compare/bazhong-govt-office/2018/{other['department']}/{year}"
    r = asyncio.run(ds.client.get(asked + "&_lang=en"))
    assert r.headers["location"].endswith("?_lang=en")


@pytest.mark.parametrize("path, status, said", [
    ("/-/compare?a=bazhong-govt-office/2018&b=nonsense", 400, "“nonsense” 不是“部门编号/年份”"),
    ("/-/compare/bazhong-govt-office/2018/nosuch/2018", 404, "没有 nosuch 部门 2018 年的报告"),
    ("/-/compare/bazhong-govt-office/20x8/bazhong-govt-office/2018", 404,
     "没有 bazhong-govt-office 部门 20x8 年的报告"),
])
def test_a_comparison_of_what_does_not_exist_says_so(ds, path, status, said):
    r = asyncio.run(ds.client.get(path))
    assert r.status_code == status and said in r.text, (r.status_code, r.text[:300])


def test_a_report_card_of_the_corpus_only_carries_the_banner(ds, corpus):
    other = next(r for r in rows(corpus[0], "sources") if r["department"] != "bazhong-govt-office")
    page = get(ds, f"/-/report/{other['department']}/{other['fiscal_year']}").text
    assert BANNER["zh"] in page and f"/corpus/income/{other['fiscal_year']},{other['department']}," in page
    reviewed = get(ds, "/-/report/bazhong-govt-office/2018").text
    assert BANNER["zh"] not in reviewed and "/bazhong/income/2018,bazhong-govt-office," in reviewed
