"""The base class of every scenario spec: frozen, strict, with did-you-mean for typos."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

__all__ = ["Strict", "suggest"]


def suggest(name: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    close = get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Strict(BaseModel):
    """A frozen pydantic model that refuses unknown keys with a did-you-mean message.

    The error has type ``unknown_key`` and carries the key in its context, so that the
    loader can point at the key's own line and column.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, validate_default=True
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = set()
            for name, info in cls.model_fields.items():
                allowed.add(info.alias or name)
            for key in data:
                if key not in allowed and key not in cls.model_fields:
                    shown = sorted(allowed)
                    raise PydanticCustomError(
                        "unknown_key",
                        "unknown key '{key}'{hint}; allowed keys: {allowed}",
                        {"key": str(key), "hint": suggest(str(key), shown), "allowed": ", ".join(shown)},
                    )
        return data
