"""How dates, numbers and money read in everything the bot says: one format each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def day(value: date | datetime | None, *, empty: str = "—") -> str:
    """`Mon 30 Nov 2026` (a datetime is shown by its date, in whatever zone it is already in)."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        value = value.date()
    return f"{value:%a} {value.day} {value:%b %Y}"


def number(value: int | float | Decimal | None, *, empty: str = "—") -> str:
    """`12,500` · `1,234.5` · `0.25`: thousands separated, no trailing zeros."""
    if value is None:
        return empty
    if isinstance(value, int):
        return f"{value:,}"
    dec = Decimal(str(value)).normalize()
    if dec == dec.to_integral_value():
        return f"{int(dec):,}"
    whole, _, fraction = format(dec, "f").partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}.{fraction}"


def money(value: int | float | Decimal | None, currency: str, *, empty: str = "—") -> str:
    """`$12,500` for the currencies with a well-known sign, else `12,500 CHF`."""
    if value is None:
        return empty
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    amount = number(value)
    if symbol is None:
        return f"{amount} {currency.upper()}"
    return f"-{symbol}{amount[1:]}" if amount.startswith("-") else f"{symbol}{amount}"
