"""A small table-first 部门决算 report written by the tests, in every input format `extract` reads:
PDF (reportlab, a built-in Chinese CID font), .docx (python-docx), HTML, and GBK text.

The figures below are the ground truth of the extraction tests; they are chosen to add up
(120.50 = 100.00 + 20.50 …) except where a break is planted on purpose: the narrative prints
公用经费 10.60 where the table prints 10.50.
"""

from __future__ import annotations

from pathlib import Path

DEPT = "测试市示例局"
YEAR = 2023
TITLE = f"{DEPT}{YEAR}年度部门决算"

SUMMARY = [  # 收入支出决算总表, two-sided: income label, value, expenditure label, value
    ("项目", "决算数", "项目", "决算数"),
    ("一、一般公共预算财政拨款收入", "120.50", "一、一般公共服务支出", "100.00"),
    ("二、政府性基金预算财政拨款收入", "", "二、外交支出", ""),
    ("三、事业收入", "", "三、社会保障和就业支出", "20.50"),
    ("本年收入合计", "120.50", "本年支出合计", "120.50"),
    ("年初结转和结余", "", "年末结转和结余", ""),
    ("总计", "120.50", "总计", "120.50"),
]
EXPENDITURE = [
    ("科目编码", "科目名称", "本年支出合计", "基本支出", "项目支出"),
    ("", "合计", "120.50", "80.50", "40.00"),
]
FUNCTION_HEADER = ("科目编码", "科目名称", "合计", "基本支出", "项目支出")
FUNCTION = [  # 一般公共预算财政拨款支出决算表; printed over two pages in the PDF
    ("201", "一般公共服务支出", "100.00", "60.00", "40.00"),
    ("20103", "政府办公厅（室）及相关机构事务", "100.00", "60.00", "40.00"),
    ("2010301", "行政运行", "60.00", "60.00", ""),
    ("2010302", "一般行政管理事务", "40.00", "", "40.00"),
    ("208", "社会保障和就业支出", "20.50", "20.50", ""),
    ("20805", "行政事业单位养老支出", "20.50", "20.50", ""),
    ("2080505", "机关事业单位基本养老保险缴费支出", "20.50", "20.50", ""),
    ("", "合计", "120.50", "80.50", "40.00"),
]
BASIC = [  # 一般公共预算财政拨款基本支出决算表, two tables side by side
    ("经济分类科目编码", "科目名称", "决算数", "经济分类科目编码", "科目名称", "决算数"),
    ("301", "工资福利支出", "70.00", "302", "商品和服务支出", "10.50"),
    ("30101", "基本工资", "70.00", "30201", "办公费", "10.50"),
    ("", "人员经费合计", "70.00", "", "公用经费合计", "10.50"),
]
THREE_PUBLIC_HEADER = ("合计", "", "因公出国（境）费", "", "小计", "", "公务用车购置费", "", "公务用车运行维护费", "",
                       "公务接待费", "")
THREE_PUBLIC = ("5.00", "4.00", "0.00", "0.00", "3.00", "2.50", "0.00", "0.00", "3.00", "2.50", "2.00", "1.50")
NARRATIVE = [
    f"第三部分 {TITLE}情况说明",
    "一、收入支出决算总体情况说明",
    f"{DEPT}{YEAR}年度收入支出总计120.50万元。与2022年度相比，收入支出总计增加10.50万元，增长9.55%。",
    "二、收入决算情况说明",
    "本年收入合计120.50万元，其中：财政拨款收入120.50万元，占100.00%。",
    "三、支出决算情况说明",
    "本年支出合计120.50万元，其中：基本支出80.50万元，占66.80%；项目支出40.00万元，占33.20%。",
    "五、一般公共预算财政拨款支出决算情况说明",
    "一般公共预算财政拨款支出120.50万元，主要用于以下方面：一般公共服务支出（类）100.00万元，占82.99%；"
    "社会保障和就业支出（类）20.50万元，占17.01%。",
    "1、一般公共服务支出（类）政府办公厅（室）及相关机构事务（款）行政运行（项）。主要用于：机关运行。"
    "全年预算为62.00万元，支出决算为60.00万元，完成全年预算数的96.77%。",
    "六、一般公共预算财政拨款基本支出决算情况说明",
    "一般公共预算财政拨款基本支出80.50万元。其中：人员经费70.00万元，主要包括：基本工资；公用经费10.60万元，"
    "主要包括：办公费。",
    "十一、其他重要事项的情况说明",
    "机关运行经费支出10.50万元，比2022年度减少1.20万元，下降10.26%。",
    "政府采购金额（以合同签订为准）为8.00万元，其中：货物采购金额5.00万元、工程采购金额0万元、服务采购金额3.00万元。",
    f"截至{YEAR}年12月31日，{DEPT}共有车辆2辆，其中：其他用车2辆。",
    "全年举办业务培训7期。",  # a figure no resource holds and no context explains: UNCLASSIFIED
]
# the one number of the report extract can neither locate nor give a reason: (before, number, after)
UNCLASSIFIED = ("培训", "7", "期")

# what the extraction must give: (resource, row key, column) -> value
EXPECTED = {
    ("income", "gpb", "amount"): "120.50",
    ("income", "current_year_total", "amount"): "120.50",
    ("income", "total", "amount"): "120.50",
    ("income", "total", "change_amount"): "10.50",
    ("income", "total", "change_pct"): "9.55",
    ("income", "fiscal", "amount"): "120.50",
    ("expenditure_by_type", "current_year_total", "amount"): "120.50",
    ("expenditure_by_type", "total", "amount"): "120.50",
    ("expenditure_by_type", "basic", "amount"): "80.50",
    ("expenditure_by_type", "basic", "share_pct"): "66.80",
    ("expenditure_by_type", "project", "amount"): "40.00",
    ("expenditure_by_type", "project", "share_pct"): "33.20",
    ("expenditure_by_type", "gpb_total", "amount"): "120.50",
    ("expenditure_by_type", "personnel", "amount"): "70.00",
    ("expenditure_by_type", "public_funds", "amount"): "10.50",
    ("expenditure_by_function", "201", "amount"): "100.00",
    ("expenditure_by_function", "201", "basic_amount"): "60.00",
    ("expenditure_by_function", "201", "project_amount"): "40.00",
    ("expenditure_by_function", "201", "share_pct"): "82.99",
    ("expenditure_by_function", "20103", "amount"): "100.00",
    ("expenditure_by_function", "2010301", "amount"): "60.00",
    ("expenditure_by_function", "2010301", "budget_amount"): "62.00",
    ("expenditure_by_function", "2010301", "budget_completion_pct"): "96.77",
    ("expenditure_by_function", "2010302", "project_amount"): "40.00",
    ("expenditure_by_function", "208", "share_pct"): "17.01",
    ("expenditure_by_function", "2080505", "amount"): "20.50",
    # the summary table's 类 lines (all funds), coded by the 一般公共预算 table's 类 of that name
    ("expenditure_by_function_all_funds", "201", "amount"): "100.00",
    ("expenditure_by_function_all_funds", "208", "amount"): "20.50",
    ("expenditure_by_economic", "301", "amount"): "70.00",
    ("expenditure_by_economic", "30201", "amount"): "10.50",
    ("three_public_expenses", "total", "budget_amount"): "5.00",
    ("three_public_expenses", "total", "amount"): "4.00",
    ("three_public_expenses", "vehicle_operation", "amount"): "2.50",
    ("three_public_expenses", "reception", "budget_amount"): "2.00",
    ("indicators", "operating_costs", "value"): "10.50",
    ("indicators", "operating_costs_change", "value"): "-1.20",
    ("indicators", "procurement_services", "value"): "3.00",
    ("indicators", "vehicles_held", "value"): "2",
}
# each tuple: a figure the tables and the narrative print differently (resource, key, column)
PLANTED_BREAK = ("expenditure_by_type", "public_funds", "amount", "10.50", "10.60")


def _tables() -> list[tuple[str, list[tuple[str, ...]]]]:
    return [
        ("收入支出决算总表", SUMMARY),
        ("支出决算表", EXPENDITURE),
        ("一般公共预算财政拨款支出决算表", [FUNCTION_HEADER, *FUNCTION]),
        ("一般公共预算财政拨款基本支出决算表", BASIC),
        ("财政拨款“三公”经费支出决算表", [THREE_PUBLIC_HEADER, ("预算数", "决算数") * 6, THREE_PUBLIC]),
    ]


def write_text(path: Path, encoding: str = "gbk") -> Path:
    from bazhong_accounts.extract.readers import render_table

    parts = [TITLE, "第一部分 部门概况", f"第二部分 {TITLE}表"]
    for title, rows in _tables():
        parts += [title, "单位：万元", render_table([list(r) for r in rows]), "注：本表反映部门本年度情况。"]
    parts += NARRATIVE
    path.write_bytes("\n".join(parts).encode(encoding))
    return path


def write_html(path: Path) -> Path:
    from html import escape

    body = [f"<h1>{TITLE}</h1>", f"<p>第二部分 {TITLE}表</p>"]
    for title, rows in _tables():
        body.append(f"<p>{title}</p><p>单位：万元</p><table>")
        body += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows]
        body.append("</table><p>注：本表反映部门本年度情况。</p>")
    body += [f"<p>{escape(p)}</p>" for p in NARRATIVE]
    html = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>' + TITLE + "</title>"
            "<script>var x = '收入支出决算总表 999.99';</script></head><body>" + "\n".join(body) + "</body></html>")
    path.write_text(html, encoding="utf-8")
    return path


def write_docx(path: Path) -> Path:
    import docx

    doc = docx.Document()
    doc.add_paragraph(TITLE)
    doc.add_paragraph(f"第二部分 {TITLE}表")
    for title, rows in _tables():
        doc.add_paragraph(title)
        doc.add_paragraph("单位：万元")
        table = doc.add_table(rows=len(rows), cols=len(rows[0]))
        for i, r in enumerate(rows):
            for j, c in enumerate(r):
                table.cell(i, j).text = c
        doc.add_paragraph("注：本表反映部门本年度情况。")
    for p in NARRATIVE:
        doc.add_paragraph(p)
    doc.save(path)
    return path


FONT = "STSong-Light"


def _canvas(path: Path, **kw):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    c = canvas.Canvas(str(path), pagesize=(842, 595), **kw)  # A4 landscape, like the tables
    c.setFont(FONT, 9)
    return c


def write_pdf(path: Path, pages_of_narrative: int = 1, **canvas_args) -> Path:
    """Tables laid out with right-aligned numbers; the function table continues on the next page
    with its heading repeated; a long name wrapped on three lines (the code line in the middle);
    the narrative wrapped every 40 characters, as a PDF does."""
    c = _canvas(path, **canvas_args)
    y = [560]

    def line(*cells: tuple[float, str, bool]):
        for x, text, right in cells:
            if text:
                (c.drawRightString if right else c.drawString)(x, y[0], text)
        y[0] -= 14

    def page():
        c.showPage()
        c.setFont(FONT, 9)
        y[0] = 560

    line((300, TITLE, False))
    line((40, f"第二部分 {TITLE}表", False))
    line((350, "收入支出决算总表", False))
    line((700, "单位：万元", False))
    for a, av, b, bv in SUMMARY:
        line((40, a, False), (300, av, True), (420, b, False), (700, bv, True))
    line((40, "注：本表反映部门本年度的总收支。", False))
    line((350, "支出决算表", False))
    line((700, "单位：万元", False))
    for code, name, total, basic, project in EXPENDITURE:
        line((40, code, False), (100, name, False), (330, total, True), (430, basic, True), (530, project, True))
    line((40, "注：本表反映部门本年度各项支出情况。", False))
    page()

    def function_header():
        line((300, "一般公共预算财政拨款支出决算表", False))
        line((700, "单位：万元", False))
        code, name, total, basic, project = FUNCTION_HEADER
        line((40, code, False), (100, name, False), (320, total, False), (410, basic, False), (510, project, False))

    function_header()
    for n, (code, name, total, basic, project) in enumerate(FUNCTION):
        if n == 4:  # the table goes on over the page, heading repeated
            page()
            function_header()
        nums = ((330, total, True), (440, basic, True), (540, project, True))
        if code == "2080505":  # wrapped name: the code line in the middle
            line((100, "机关事业单位", False))
            line((40, code, False), (100, "基本养老保险", False), *nums)
            line((100, "缴费支出", False))
        else:
            line((40, code, False), (100, name, False), *nums)
    line((40, "注：本表反映部门本年度一般公共预算财政拨款支出情况。", False))
    page()
    line((300, "一般公共预算财政拨款基本支出决算表", False))
    line((700, "单位：万元", False))
    for a, an, av, b, bn, bv in BASIC:
        line((40, a, False), (120, an, False), (330, av, True), (420, b, False), (500, bn, False), (720, bv, True))
    line((40, "注：本表反映部门本年度一般公共预算财政拨款基本支出明细情况。", False))
    line((300, "财政拨款“三公”经费支出决算表", False))
    line((700, "单位：万元", False))
    line(*[(60 + 60 * i, h, False) for i, h in enumerate(THREE_PUBLIC_HEADER)])
    line(*[(60 + 60 * i, h, False) for i, h in enumerate(("预算数", "决算数") * 6)])
    line(*[(95 + 60 * i, v, True) for i, v in enumerate(THREE_PUBLIC)])
    line((40, "注：本表反映部门本年度“三公”经费支出预决算情况。", False))
    for _ in range(pages_of_narrative):
        page()
        for p in NARRATIVE:
            for piece in _wrap(p, 40):
                line((40, piece, False))
    c.save()
    return path


def _wrap(p: str, width: int) -> list[str]:
    """Lines of at most `width` characters, never breaking inside a number."""
    out = []
    while len(p) > width:
        cut = width
        while cut > 1 and (p[cut - 1].isdigit() or p[cut - 1] == ".") and (p[cut].isdigit() or p[cut] == "."):
            cut -= 1
        out.append(p[:cut])
        p = p[cut:]
    return out + [p]


def write_scanned_pdf(path: Path) -> Path:
    """A PDF without a text layer: shapes only, like a scanned page."""
    c = _canvas(path)
    c.rect(50, 50, 400, 300, fill=1)
    c.showPage()
    c.save()
    return path
