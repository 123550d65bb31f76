"""Recognising Swedish personal identity numbers so that they are refused, never echoed.

A pseudonymous column must not hold a personnummer or samordningsnummer (coordination
number). Both are YYMMDD-NNNC or YYYYMMDD-NNNC: the date of birth (for a
samordningsnummer the day plus 60), a separator `-` (or `+` from the age of 100, or
none), a three-digit serial and a Luhn check digit over the ten digits YYMMDDNNN.
Requiring a real calendar date and a correct check digit keeps false alarms on random
pseudonyms rare (about one in 30 ten-digit numbers pass both), and a false alarm is cheap:
the provider sees the row and can confirm.

Messages show only `mask()`: the date part and `****`, never the serial and check digit.
"""

from __future__ import annotations

import re
from datetime import date

_PATTERN = re.compile(r"(\d{2})?(\d{6})([-+]?)(\d{4})")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 - i % 2)  # weights 2,1,2,1,... from the left over ten digits
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _date_ok(century: str | None, yymmdd: str) -> bool:
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    if dd > 60:
        dd -= 60  # samordningsnummer: the day of birth plus 60
    if century is not None:
        if century not in ("18", "19", "20"):
            return False
        year = int(century + yymmdd[:2])
    else:
        year = 2000 + yy  # 2000 is a leap year, so 29 February of any 00 year passes
    try:
        date(year, mm, dd)
    except ValueError:
        return False
    return True


def is_personnummer(text: str) -> bool:
    """True when `text` (already stripped) is a valid personnummer or samordningsnummer."""
    # Cheap rejection first: this runs on every distinct value of a pseudonymous column.
    if len(text) < 10 or len(text) > 13 or not text[-1].isdigit():
        return False
    m = _PATTERN.fullmatch(text)
    if m is None:
        return False
    century, yymmdd, _sep, last = m.groups()
    return _date_ok(century, yymmdd) and _luhn_ok(yymmdd + last)


def mask(text: str) -> str:
    """`19850101-****` / `850101-****`: enough to find the row, not the person."""
    m = _PATTERN.fullmatch(text.strip())
    if m is None:
        return "****"
    century, yymmdd, sep, _last = m.groups()
    return f"{century or ''}{yymmdd}{sep or '-'}****"
