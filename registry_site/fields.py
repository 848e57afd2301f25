"""Field types and small output helpers every API module shares."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"


class StrictChar(serializers.CharField):
    """A string field that refuses numbers and booleans instead of converting them."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Text(StrictChar):
    """Text kept exactly as sent (templates and notes keep their whitespace)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


def time_of(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def name_of(user: Any) -> str | None:
    return user.get_username() if user is not None else None
