"""How dates, numbers and money read in everything the bot says: one format each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

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


def money(value: int | float | Decimal | None, currency: str, *, signed: bool = False, empty: str = "—") -> str:
    """An amount in a currency, as every output shows it (forms, row lists, the report in every format):
    `$82,500`, `€1,234.50`, `£0.75`, `-$2,500`; a currency without a well-known sign by its code after the
    amount, `12,500 CHF`. Whole amounts have no cents; others two places. `signed`: a variance, `+$400` /
    `-$2,500` / `$0`, as the template writes them."""
    if value is None:
        return empty
    amount = Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    sign = "-" if amount < 0 else "+" if signed and amount > 0 else ""
    amount = abs(amount)
    digits = f"{int(amount):,}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    code = currency.upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"


def currency_of_symbol(symbol: str) -> str | None:
    """`€` → `EUR`: the inverse of CURRENCY_SYMBOLS (what an importer reads back from `€82,500`)."""
    return _CODES.get(symbol)


_CODES = {symbol: code for code, symbol in CURRENCY_SYMBOLS.items()}
