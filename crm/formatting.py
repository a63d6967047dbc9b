"""Jinja filters for the figures people read: amounts in 万元/亿元, dates in the bureau's zone."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_datetime, format_decimal

TEN_THOUSAND = Decimal(10000)


def wan(amount: Decimal | None) -> str:
    """万元 with two decimals, grouped."""
    if amount is None:
        return "—"
    return format_decimal(Decimal(amount).quantize(Decimal("0.01"), ROUND_HALF_UP), format="#,##0.00")


def yi(amount_wan: Decimal | None) -> str:
    """An amount kept in 万元, shown in 亿元 (1亿 = 10,000万)."""
    if amount_wan is None:
        return "—"
    value = (Decimal(amount_wan) / TEN_THOUSAND).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return format_decimal(value, format="#,##0.00")


def local_dt(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """Stored naive UTC → the viewer's zone."""
    if value is None:
        return ""
    return format_datetime(value.replace(tzinfo=timezone.utc), fmt)


def init_app(app) -> None:
    app.jinja_env.filters.update(wan=wan, yi=yi, local_dt=local_dt)
