"""Jinja filters for the figures people read: amounts in 万元/亿元, dates in the bureau's zone."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import parse_pattern
from flask_babel import format_datetime, get_locale

TEN_THOUSAND = Decimal(10000)
# Parsed once: pages with hundreds of amounts would otherwise parse the pattern per amount.
AMOUNT_PATTERN = parse_pattern("#,##0.00")
CENT = Decimal("0.01")


def _amount(value: Decimal) -> str:
    return AMOUNT_PATTERN.apply(value.quantize(CENT, ROUND_HALF_UP), get_locale())


def wan(amount: Decimal | None) -> str:
    """万元 with two decimals, grouped."""
    if amount is None:
        return "—"
    return _amount(Decimal(amount))


def yi(amount_wan: Decimal | None) -> str:
    """An amount kept in 万元, shown in 亿元 (1亿 = 10,000万)."""
    if amount_wan is None:
        return "—"
    return _amount(Decimal(amount_wan) / TEN_THOUSAND)


def local_dt(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """Stored naive UTC → the viewer's zone."""
    if value is None:
        return ""
    return format_datetime(value.replace(tzinfo=timezone.utc), fmt)


def init_app(app) -> None:
    app.jinja_env.filters.update(wan=wan, yi=yi, local_dt=local_dt)
