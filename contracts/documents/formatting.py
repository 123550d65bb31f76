"""Money, numbers, percentages and dates as a reader of each language expects them.

Problem: a document is read by people, so `1234567.5` must read `1 234 567,50 kr` in
Swedish and `SEK 1,234,567.50` in English — and still be the exact amount the engine
computed. Babel knows the conventions, but by default it quantizes a currency amount
to the currency's two decimals (0.125 kr would print as 0,12 kr) and it computes in
the caller's decimal context (28 digits: a long amount raises or loses digits).

Approach: every value must already be a `Decimal` (or an int); a float is refused, as
everywhere in this project. Babel formats with `decimal_quantization=False`, so no digit
is dropped, inside the engine's 200-digit context, so no digit is lost. Whole amounts
print without decimals (`450 000 kr`, as contracts write prices), others with at least
the two öre digits and as many more as the value has. Separators are Babel's
no-break spaces, so an amount never breaks across lines.
"""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Literal

from babel import dates, numbers

from contracts import money

Lang = Literal["en", "sv"]

# English documents of a Swedish buyer follow British conventions (31 March 2025).
LOCALES: dict[str, str] = {"en": "en_GB", "sv": "sv_SE"}
MINUS = "\u2212"  # Swedish typesetting writes a true minus sign, as the settlement output does
NBSP = "\u00a0"


def _exact(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"refusing to format {type(value).__name__} {value!r}: give a Decimal")
    return Decimal(value)


def _sv_minus(text: str, lang: Lang) -> str:
    return MINUS + text[1:] if lang == "sv" and text.startswith("-") else text


def _whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


def money_text(value: Decimal | int, currency: str, lang: Lang) -> str:
    """An amount with its currency, every digit kept: `1 234 567,50 kr`, `SEK 1,234,567.50`."""
    amount = _exact(value)
    # '#,##0' for whole amounts; '.00' keeps öre (and Babel adds any further digits).
    digits = "#,##0" if _whole(amount) else "#,##0.00"
    pattern = f"{digits}{NBSP}¤" if lang == "sv" else f"¤{NBSP}{digits}"
    with decimal.localcontext(money.CONTEXT):  # Babel computes in the current context
        if _whole(amount):
            amount = amount.quantize(Decimal(1))  # 3360.00 is 3360: no '.00' from the exponent
        text = numbers.format_currency(
            amount,
            currency,
            format=pattern,
            locale=LOCALES[lang],
            currency_digits=False,  # the pattern decides the decimals, not ISO 4217's two
            decimal_quantization=False,
        )
    return _sv_minus(text, lang)


def currency_symbol(currency: str, lang: Lang) -> str:
    """How the language writes the currency next to an amount: `kr` (sv), `SEK` (en)."""
    return numbers.get_currency_symbol(currency, LOCALES[lang])


def number_text(value: Decimal | int, lang: Lang) -> str:
    """A plain number, exact and grouped: `1 234,5` (sv), `1,234.5` (en)."""
    num = _exact(value)
    with decimal.localcontext(money.CONTEXT):  # quantize and normalize round in the context
        # 0.050 is written 0,05; 1E+3 is written 1 000.
        num = num.quantize(Decimal(1)) if _whole(num) else num.normalize()
        text = numbers.format_decimal(
            num, format="#,##0.###", locale=LOCALES[lang], decimal_quantization=False
        )
    return _sv_minus(text, lang)


def percent_text(share: Decimal | int, lang: Lang) -> str:
    """A share as percent, exact: 0.05 → `5 %` (sv), `5%` (en); 0.055 → `5,5 %`."""
    with decimal.localcontext(money.CONTEXT):
        hundred = _exact(share) * 100
    return number_text(hundred, lang) + (f"{NBSP}%" if lang == "sv" else "%")


def date_text(day: dt.date, lang: Lang) -> str:
    """A date: ISO in Swedish (`2025-03-31`, as Swedish documents write it), `31 March 2025`."""
    if lang == "sv":
        return day.isoformat()
    return dates.format_date(day, format="d MMMM y", locale=LOCALES[lang])


def date_range_text(start: dt.date, end: dt.date, lang: Lang) -> str:
    """A closed range of days: `2025-01-01 – 2025-12-31`."""
    return f"{date_text(start, lang)} – {date_text(end, lang)}"
