"""marshmallow fields for the API's conventions: amounts as decimal strings in 万元, UTC times,
ids the databases can hold, text the databases can store, codes from DOMAIN.md."""
from __future__ import annotations

import re
from datetime import timezone

from marshmallow import ValidationError, fields, validate

MAX_ID = 2**31 - 1  # PostgreSQL `integer`; larger ids cannot exist and must not reach SQL
# Routes use this converter so that an id out of range is a 404, not a database error.
ID = f"int(min=1, max={MAX_ID})"


class Text(fields.String):
    """A string the databases can store (no NUL, no lone surrogates), as long as its column."""

    def __init__(self, *, column=None, max_length: int | None = None, **kwargs):
        length = max_length or (column.type.length if column is not None else None)
        given = kwargs.pop("validate", None)
        validators = [given] if callable(given) else list(given or [])
        if length:
            validators.append(validate.Length(max=length))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
            raise ValidationError("Contains characters that cannot be stored.")
        return text


class Code(fields.String):
    """One of a fixed list of codes (stages, modes, statuses, sources)."""

    def __init__(self, choices, **kwargs):
        super().__init__(validate=validate.OneOf(list(choices)), **kwargs)


class DecimalString(fields.Decimal):
    """An exact decimal, as a string ("66.7"): JSON numbers are binary floating point."""

    def __init__(self, **kwargs):
        super().__init__(as_string=True, **kwargs)


class Wan(DecimalString):
    """An amount in 万元 as a decimal string with at most two decimals: "12500.00"."""

    PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"

    def __init__(self, **kwargs):
        metadata = {"pattern": self.PATTERN, "example": "12500.00",
                    **kwargs.pop("metadata", {})}
        super().__init__(places=2, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(self.PATTERN, value):
            raise ValidationError('An amount in 万元 as a decimal string, e.g. "12500.00".')
        return super()._deserialize(value, attr, data, **kwargs)


class Id(fields.Integer):
    """A record's id: a JSON integer in a body (`strict`), digits in a query string."""

    def __init__(self, *, strict: bool = True, **kwargs):
        super().__init__(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class UtcDateTime(fields.DateTime):
    """Timestamps are stored as naive UTC; the API says so (RFC 3339 with an offset)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true/false only (marshmallow also takes "yes", 1, "on"…)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
