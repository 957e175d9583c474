"""Check (f): every figure located in the report, every number of the report accounted for.

`figure_sources` holds one row per printed occurrence of a figure cell: `text[start:end] ==
printed`, offsets into the archived source decoded as UTF-8. `non_figures` lists the numbers of
the report that are not figures (years, dates, heading numbers …) with the reason. The checks:

- each span: inside the text, `text[start:end] == printed`, and `printed` states the cell's value
  (sign from 增加/减少/降低/下降, unit 万元/亿元/% against the cell's unit); a span that states
  another value is allowed only when an erratum of that cell gives it as value_carried/value_other;
- each span names an existing, non-derived figure cell; every non-derived figure cell of a fact
  table (a resource with figures and a `derived` column) has at least one span;
- each excerpt of the row's `source_quote` lies in the passage around one of the row's spans;
- every number the scanner finds in the archived text (`numbers_in`) is covered by a figure span
  or a non-figure; otherwise a problem at the source's line and column.

Everything is one pass over the spans plus one scan of each archived text: O(spans + text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# ---------------------------------------------------------------- what counts as a number

# Arabic and full-width digits, with a decimal part.
ARABIC = r"[0-9０-９]+(?:[.．][0-9０-９]+)?"
CN_DIGITS = "一二三四五六七八九十两百千"
# Chinese numerals the report uses as counts, ranks or ordinals: after 第, inside （…）, or before a
# classifier / 是 (一是, 二是) / 、 (heading 一、) / 大 (十九大). A bare 一 inside a word (统一,
# 进一步, 一般) is not followed by one of these and is not a number.
CLASSIFIERS = "年项件个位次期名届条批篇家人辆户处场级是、大"
CHINESE = (rf"(?<=第)[{CN_DIGITS}]+|(?<=（)[{CN_DIGITS}]+(?=）)"
           rf"|[{CN_DIGITS}]+(?=[{CLASSIFIERS}])")
NUMBER = re.compile(rf"{ARABIC}|{CHINESE}")

SIGN_WORDS = {"增加": 1, "增长": 1, "减少": -1, "下降": -1, "降低": -1}
UNITS = ("万元", "亿元", "%")
PRINTED = re.compile(rf"^(?P<sign>{'|'.join(SIGN_WORDS)})?(?P<num>{ARABIC}|[{CN_DIGITS}]+)"
                     rf"(?P<unit>\s?(?:{'|'.join(map(re.escape, UNITS))}))?$")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_CN_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_CN_SCALE = {"十": 10, "百": 100, "千": 1000}


def numbers_in(text: str):
    """(start, end) of every number of the text, in order."""
    return [(m.start(), m.end()) for m in NUMBER.finditer(text)]


def chinese_value(s: str) -> int:
    """三 -> 3, 十 -> 10, 十九 -> 19, 二十 -> 20, 一百零八 -> 108."""
    total, digit = 0, 0
    for ch in s:
        if ch in _CN_SCALE:
            total += (digit or 1) * _CN_SCALE[ch]
            digit = 0
        else:
            digit = _CN_VALUE[ch]
    return total + digit


def with_chinese_numerals(quote: str) -> str:
    """The quote followed by the Arabic value of each Chinese numeral it prints as a number
    (连续三年 -> "… 3"), so that a figure printed in words is found in its quote."""
    extra = [str(chinese_value(m.group())) for m in re.finditer(CHINESE, quote)]
    return quote + (" " + " ".join(extra) if extra else "")


@dataclass
class Printed:
    value: Decimal
    unit: str | None  # 万元, 亿元, % or None


def parse_printed(printed: str) -> Printed | None:
    """What a span states: 减少2.89万元 -> -2.89 万元; 降低13.9% -> -13.9 %; 三 -> 3. None when the
    text is not one number (with an optional sign word before and a unit after)."""
    m = PRINTED.match(printed)
    if not m:
        return None
    num = m.group("num")
    try:
        value = Decimal(num.translate(_FULL_WIDTH)) if num[0] not in CN_DIGITS else Decimal(chinese_value(num))
    except (InvalidOperation, KeyError):
        return None
    if m.group("sign"):
        value *= SIGN_WORDS[m.group("sign")]
    unit = m.group("unit").strip() if m.group("unit") else None
    return Printed(value, unit)


def in_unit(p: Printed, unit: str | None) -> Decimal | None:
    """The printed value in the cell's unit (亿元 -> 万元 × 10000); None when the units differ
    otherwise (a percentage printed for an amount)."""
    if p.unit is None or unit is None or p.unit == unit:
        return p.value
    if (p.unit, unit) == ("亿元", "万元"):
        return p.value * 10000
    if (p.unit, unit) == ("万元", "亿元"):
        return p.value / 10000
    return None
