"""The item ids of the summary resources, one vocabulary for both outlines, so that departments
and years compare in one query: resource -> item_id -> (parent_item_id, breakdown, the standard
Chinese name, English). Each outline maps the labels it finds printed to these ids; a row's
`name_zh` stays the label as printed where the outline reads one."""

from __future__ import annotations

from typing import NamedTuple

INC, EBT, TPE = "income", "expenditure_by_type", "three_public_expenses"


class Item(NamedTuple):
    parent: str
    breakdown: str
    name_zh: str
    name_en: str


ITEMS: dict[str, dict[str, Item]] = {
    INC: {
        "total": Item("", "", "收入总计", "Total income"),
        "carryover": Item("total", "by_source", "年初结转和结余", "Carry-over and balance from the previous year"),
        "non_fiscal_balance_used": Item("total", "by_source", "使用非财政拨款结余",
                                        "Use of non-appropriation balances"),
        "current_year_total": Item("total", "by_source", "本年收入合计", "Income of the year"),
        "gpb": Item("current_year_total", "by_source", "一般公共预算财政拨款收入",
                    "General public budget appropriation income"),
        "gov_fund": Item("current_year_total", "by_source", "政府性基金预算财政拨款收入",
                         "Government fund budget appropriation income"),
        "state_capital": Item("current_year_total", "by_source", "国有资本经营预算财政拨款收入",
                              "State capital operation budget appropriation income"),
        "superior_subsidy": Item("current_year_total", "by_source", "上级补助收入", "Subsidies from the higher level"),
        "business": Item("current_year_total", "by_source", "事业收入", "Income from public-service activities"),
        "operating": Item("current_year_total", "by_source", "经营收入", "Operating income"),
        "subordinate": Item("current_year_total", "by_source", "附属单位上缴收入",
                            "Income remitted by subordinate units"),
        "other": Item("current_year_total", "by_source", "其他收入", "Other income"),
        "fiscal_total": Item("", "", "财政拨款收入总计", "Total fiscal appropriation income"),
        # the three appropriation kinds together: a part of current_year_total in a breakdown of
        # its own (by_funding), so that it is not summed with the by_source parts it overlaps; the
        # other part is derived (extract/tables._non_fiscal)
        "fiscal": Item("current_year_total", "by_funding", "财政拨款收入", "Fiscal appropriation income"),
        "non_fiscal": Item("current_year_total", "by_funding", "非财政拨款收入（推算）",
                           "Income other than fiscal appropriations (derived)"),
    },
    EBT: {
        "total": Item("", "", "支出总计", "Total expenditure"),
        "current_year_total": Item("", "", "本年支出合计", "Expenditure of the year"),
        "basic": Item("current_year_total", "by_type", "基本支出", "Basic expenditure"),
        "project": Item("current_year_total", "by_type", "项目支出", "Project expenditure"),
        "fiscal_total": Item("", "", "财政拨款支出总计", "Total fiscal appropriation expenditure"),
        "gpb_total": Item("current_year_total", "by_fund", "一般公共预算财政拨款支出",
                          "General public budget appropriation expenditure"),
        "gov_fund_total": Item("current_year_total", "by_fund", "政府性基金预算拨款支出",
                               "Government fund budget appropriation expenditure"),
        "state_capital_total": Item("current_year_total", "by_fund", "国有资本经营预算拨款支出",
                                    "State capital operation budget appropriation expenditure"),
        # the 一般公共预算 part of basic/project (the 合计 line of its 支出决算表, and 情况说明 六)
        "gpb_basic": Item("gpb_total", "by_type", "一般公共预算财政拨款基本支出",
                          "General public budget appropriation: basic expenditure"),
        "gpb_project": Item("gpb_total", "by_type", "一般公共预算财政拨款项目支出",
                            "General public budget appropriation: project expenditure"),
        # 财政拨款收入支出决算总表: the 本年支出合计 of the three appropriations, and the 总计 of the
        # 一般公共预算 column (with its year-end balance); no parent: they overlap the by_fund parts
        "fiscal_current_year_total": Item("", "", "财政拨款本年支出合计",
                                          "Fiscal appropriation expenditure of the year"),
        "gpb_grand_total": Item("", "", "一般公共预算财政拨款支出总计",
                                "Total general public budget appropriation expenditure (with year-end balance)"),
        "personnel": Item("basic", "by_economic_nature", "人员经费", "Personnel expenses"),
        "public_funds": Item("basic", "by_economic_nature", "公用经费", "Public (operating) funds"),
        "year_end_carryover": Item("", "", "年末结转和结余", "Carry-over and balance at year end"),
    },
    TPE: {
        "total": Item("", "", "“三公”经费财政拨款支出", "Three public expenses (fiscal appropriation)"),
        "overseas": Item("total", "by_category", "因公出国（境）经费", "Official overseas (outbound) travel"),
        "vehicles": Item("total", "by_category", "公务用车购置及运行维护费", "Official vehicle purchase and operation"),
        "vehicle_purchase": Item("vehicles", "by_use", "公务用车购置支出", "Official vehicle purchase"),
        "vehicle_operation": Item("vehicles", "by_use", "公务用车运行维护费",
                                  "Official vehicle operation and maintenance"),
        "reception": Item("total", "by_category", "公务接待费", "Official reception"),
    },
}
