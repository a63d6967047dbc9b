"""Columns of an import: accepted headers (Chinese or English) and a parser per column.

A parser takes the cell's raw value (already trimmed; never an empty string) and returns the
Python value, or raises `ValueError` with a message for the person who filled the sheet.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale, gettext as _

Parser = Callable[[Any], Any]


def header_key(text: Any) -> str:
    """Headers compare without width, case, spaces or the '*' that marks required columns."""
    folded = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return re.sub(r"[\s*]", "", folded)


@dataclass(frozen=True)
class Column:
    key: str
    label_zh: str
    label_en: str
    parse: Parser = field(default_factory=lambda: text())
    required: bool = False
    aliases: tuple[str, ...] = ()
    example: Any = None
    note: Any = None  # a (lazy) translated hint for the template's instructions sheet

    def header_keys(self) -> set[str]:
        return {header_key(h) for h in (self.key, self.label_zh, self.label_en, *self.aliases)}

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_zh


def text(max_length: int = 255) -> Parser:
    def parse(value):
        if isinstance(value, datetime):
            value = value.date().isoformat()
        value = str(value).strip()
        if len(value) > max_length:
            raise ValueError(_("At most %(n)d characters.", n=max_length))
        return value
    return parse


def choice(options: dict[str, str]) -> Parser:
    """Accept any of the given spellings (codes, Chinese and English labels) → the code."""
    lookup = {header_key(k): v for k, v in options.items()}
    shown = " / ".join(dict.fromkeys(options))

    def parse(value):
        code = lookup.get(header_key(value))
        if code is None:
            raise ValueError(_("Unknown value; use one of: %(values)s", values=shown))
        return code
    return parse


def both_languages(labels: dict) -> dict[str, str]:
    """For `choice`: code → code, and each (lazy) label in Chinese and in English → code."""
    accepted = {code: code for code in labels}
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            accepted.update({str(label): code for code, label in labels.items()})
    return accepted


def decimal(places: int = 2, max_value: Decimal = Decimal("999999999999.99")) -> Parser:
    """A non-negative amount; thousands separators allowed; exact (no float rounding)."""
    quantum = Decimal(1).scaleb(-places)

    def parse(value):
        if isinstance(value, float):
            value = repr(value)  # the shortest text that reads back to the same float
        raw = unicodedata.normalize("NFKC", str(value)).replace(",", "").replace(" ", "")
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            raise ValueError(_("Not a number.")) from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(_("Must be zero or more."))
        if amount > max_value:
            raise ValueError(_("Too large."))
        if amount != amount.quantize(quantum):
            raise ValueError(_("At most %(n)d decimal places.", n=places))
        return amount.quantize(quantum)
    return parse


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def date_value() -> Parser:
    def parse(value):
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        match = _DATE_RE.match(unicodedata.normalize("NFKC", str(value)).strip())
        try:
            if match:
                return date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
        raise ValueError(_("Not a date (use YYYY-MM-DD)."))
    return parse


def email() -> Parser:
    def parse(value):
        try:
            return validate_email(str(value), check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError(_("Invalid email address.")) from None
    return parse


def _country_lookup() -> dict[str, str]:
    names: dict[str, str] = {}
    for locale in ("en", "zh_Hans_CN"):
        for code, name in Locale.parse(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                names[header_key(name)] = code
                names[header_key(code)] = code
    # Names people write that CLDR spells differently.
    for alias, code in {"韩国": "KR", "南韩": "KR", "Korea": "KR", "South Korea": "KR",
                        "UK": "GB", "England": "GB", "USA": "US", "America": "US",
                        "中国大陆": "CN", "台湾": "TW", "香港": "HK", "澳门": "MO",
                        "Vietnam": "VN", "Russia": "RU", "俄国": "RU"}.items():
        names[header_key(alias)] = code
    return names


def country() -> Parser:
    """ISO 3166 alpha-2, or the country's name in Chinese or English."""
    lookup = _country_lookup()

    def parse(value):
        code = lookup.get(header_key(value))
        if code is None:
            raise ValueError(_("Unknown country or region."))
        return code
    return parse
