"""Exact amounts: Decimal made from text or integers, rounded only where a contract says.

Floats are refused outright: a float has already lost the öre before we see it.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Literal

RoundingMode = Literal["half_up", "half_even", "down", "up", "floor", "ceiling"]

_MODES: dict[str, str] = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
}

# Division is the one operation that cannot be exact (1/3): it keeps 50 significant
# digits. Sums and products of such quotients need more digits than their parts, so
# everything else runs with 200, which keeps them exact: nothing is rounded by the
# context, only where the contract says.
DIVISION = decimal.Context(
    prec=50, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation]
)
CONTEXT = decimal.Context(
    prec=200, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation]
)

ZERO = Decimal(0)


def to_decimal(value: object) -> Decimal:
    """Convert text, an int or a Decimal to Decimal; anything else is a bug."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value.strip())
    raise TypeError(f"refusing to make an exact amount from {type(value).__name__} {value!r}")


def quantize(amount: Decimal, quantum: Decimal, mode: RoundingMode) -> Decimal:
    """Round to a multiple of `quantum` (0.01, 1, 100, or 0.05 for cash rounding)."""
    if quantum <= 0:
        raise ValueError("quantum must be positive")
    with decimal.localcontext(CONTEXT):
        steps = (amount / quantum).quantize(Decimal(1), rounding=_MODES[mode])
        result = steps * quantum
        # Keep the quantum's own decimals so 0.01 gives '12.50', not '12.5'.
        exponent = quantum.as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            result = result.quantize(quantum)
        return result


def is_multiple(amount: Decimal, quantum: Decimal) -> bool:
    with decimal.localcontext(CONTEXT):
        return (amount / quantum) == (amount / quantum).to_integral_value()


def mul(a: Decimal, b: Decimal) -> Decimal:
    with decimal.localcontext(CONTEXT):
        return a * b


def div(a: Decimal, b: Decimal) -> Decimal | None:
    """a / b, or None when b is zero (a ratio of nothing is unknown, not infinite)."""
    if b == 0:
        return None
    with decimal.localcontext(DIVISION):
        return a / b


def add(*values: Decimal) -> Decimal:
    with decimal.localcontext(CONTEXT):
        total = ZERO
        for v in values:
            total += v
        return total


def fmt(value: Decimal | None, places: int | None = None) -> str:
    """Plain, locale-free text for explanations: 1234567.5 -> '1 234 567.50' (places=2)."""
    if value is None:
        return "–"
    if places is not None:
        with decimal.localcontext(CONTEXT):
            value = value.quantize(Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_EVEN)
    text = format(value, "f")
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = " ".join(groups)
    return sign + out + ("." + frac if frac else "")
