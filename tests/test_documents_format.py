"""Money, numbers, percentages and dates in documents: the language's way, every digit kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.documents.formatting import (
    currency_symbol,
    date_range_text,
    date_text,
    money_text,
    number_text,
    percent_text,
)


def plain(text: str) -> str:
    """Babel separates groups with no-break spaces (an amount never breaks a line)."""
    return text.replace("\u00a0", " ")


D = Decimal


@pytest.mark.parametrize(
    ("value", "sv", "en"),
    [
        ("1234567.50", "1 234 567,50 kr", "SEK 1,234,567.50"),
        ("123456789012.35", "123 456 789 012,35 kr", "SEK 123,456,789,012.35"),
        ("450000", "450 000 kr", "SEK 450,000"),
        ("3360.00", "3 360 kr", "SEK 3,360"),  # the engine's 3360.00: whole kronor
        ("0.1", "0,10 kr", "SEK 0.10"),  # öre always with two digits
        ("0.125", "0,125 kr", "SEK 0.125"),  # more digits are kept, never rounded away
        ("-93539.75", "−93 539,75 kr", "-SEK 93,539.75"),
        ("0", "0 kr", "SEK 0"),
        ("1E+3", "1 000 kr", "SEK 1,000"),
    ],
)
def test_money_in_swedish_and_english(value: str, sv: str, en: str) -> None:
    assert plain(money_text(D(value), "SEK", "sv")) == sv
    assert plain(money_text(D(value), "SEK", "en")) == en


def test_money_keeps_every_digit_beyond_float_and_the_default_decimal_context() -> None:
    # 2**53 + 1 is the first integer a float cannot hold; 30 digits overflow the
    # default 28-digit decimal context Babel would otherwise compute in.
    assert plain(money_text(D("9007199254740993.01"), "SEK", "sv")) == (
        "9 007 199 254 740 993,01 kr"
    )
    assert plain(money_text(D("12345678901234567890123456789.01"), "SEK", "en")) == (
        "SEK 12,345,678,901,234,567,890,123,456,789.01"
    )


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_an_amount_to_the_ore_reads_back_exactly(ore: int) -> None:
    amount = D(ore).scaleb(-2)
    for lang, decimal_mark in (("sv", ","), ("en", ".")):
        text = plain(money_text(amount, "SEK", lang))  # type: ignore[arg-type]
        digits = "".join(ch for ch in text if ch.isdigit() or ch == decimal_mark)
        back = D(digits.replace(",", "."))
        assert back == abs(amount), text
        assert text.startswith(("-", "−")) == (amount < 0)


@pytest.mark.parametrize("bad", [0.1, 1.5, "12", None, True])
def test_a_float_or_text_is_refused(bad: object) -> None:
    with pytest.raises(TypeError):
        money_text(bad, "SEK", "sv")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        number_text(bad, "en")  # type: ignore[arg-type]


def test_other_currencies() -> None:
    assert plain(money_text(D("5.5"), "EUR", "sv")) == "5,50 €"
    assert plain(money_text(D("5.5"), "EUR", "en")) == "€ 5.50"
    assert currency_symbol("SEK", "sv") == "kr" and currency_symbol("SEK", "en") == "SEK"


@pytest.mark.parametrize(
    ("value", "sv", "en"),
    [
        ("1234.5", "1 234,5", "1,234.5"),
        ("0.050", "0,05", "0.05"),
        ("0.001", "0,001", "0.001"),
        ("400", "400", "400"),
        ("-2.5", "−2,5", "-2.5"),
        ("0.0000001", "0,0000001", "0.0000001"),
        (
            "1234567890123456789012345678.125",
            "1 234 567 890 123 456 789 012 345 678,125",
            "1,234,567,890,123,456,789,012,345,678.125",
        ),
    ],
)
def test_numbers(value: str, sv: str, en: str) -> None:
    assert plain(number_text(D(value), "sv")) == sv
    assert plain(number_text(D(value), "en")) == en


@pytest.mark.parametrize(
    ("share", "sv", "en"),
    [
        ("0.05", "5 %", "5%"),
        ("0.055", "5,5 %", "5.5%"),
        ("1", "100 %", "100%"),
        ("0.4", "40 %", "40%"),
    ],
)
def test_percentages(share: str, sv: str, en: str) -> None:
    assert plain(percent_text(D(share), "sv")) == sv
    assert plain(percent_text(D(share), "en")) == en


def test_dates() -> None:
    day = dt.date(2025, 3, 31)
    assert date_text(day, "sv") == "2025-03-31"
    assert date_text(day, "en") == "31 March 2025"
    assert date_range_text(dt.date(2025, 1, 1), day, "sv") == "2025-01-01 – 2025-03-31"
