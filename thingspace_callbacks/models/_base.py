"""What every model shares: camelCase aliases, unknown fields kept, open enums."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr
from pydantic.alias_generators import to_camel

__all__ = ["OpenEnum", "ThingSpaceModel", "plain_data", "reveal"]


class ThingSpaceModel(BaseModel):
    """Base of every request and response model.

    Fields are snake_case in Python and camelCase on the wire; either name is accepted
    when building a model. Fields the service sends that the model does not declare are
    kept (``model.model_extra``, or as attributes) and sent back when the model is used
    as a request body.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        ser_json_timedelta="iso8601",
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object this model sends: camelCase names, no null fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class OpenEnum(str, Enum):
    """A string enum that accepts values it does not list.

    ThingSpace adds service names over time; an unknown one becomes a new member whose
    name and value are the string itself instead of failing validation.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)


def reveal(secret: SecretStr | None) -> str | None:
    """The plain text of a secret field when a model is sent on the wire."""
    return None if secret is None else secret.get_secret_value()


def plain_data(value: object) -> Any:
    """Models as the JSON ThingSpace uses (camelCase, no null fields), in lists, tuples
    and mappings at any depth; a ``SecretStr`` as its value (mask it with
    ``redact()`` before showing it)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, Mapping):
        return {str(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(item) for item in value]
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value
