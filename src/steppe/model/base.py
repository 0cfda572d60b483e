"""The base class of every scenario spec: frozen, strict, with did-you-mean for typos."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any, get_args

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

__all__ = ["Strict", "suggest"]


def suggest(name: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    close = get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _leaf_types(annotation: Any) -> set[Any]:
    """The plain types a field annotation is built from (``float | None`` -> float, None)."""
    args = get_args(annotation)
    if not args:
        return {annotation}
    if getattr(annotation, "__metadata__", None) is not None:  # Annotated[T, ...]
        return _leaf_types(args[0])
    out: set[Any] = set()
    for arg in args:
        out |= _leaf_types(arg)
    return out


def _refuses_bool(annotation: Any) -> bool:
    """True for numeric fields that do not also accept booleans."""
    leaves = _leaf_types(annotation)
    return bool(leaves & {float, int}) and bool not in leaves


class Strict(BaseModel):
    """A frozen pydantic model that refuses unknown keys with a did-you-mean message.

    The error has type ``unknown_key`` and carries the key in its context, so that the
    loader can point at the key's own line and column. A YAML boolean given to a numeric
    field (which pydantic would read as 1 or 0) is refused the same way, with the error
    type ``bool_not_number``.
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
                        {
                            "key": str(key),
                            "hint": suggest(str(key), shown),
                            "allowed": ", ".join(shown),
                        },
                    )
            # pydantic's lax mode reads ``true`` as 1 and ``false`` as 0; a YAML boolean where
            # a number is expected is a mistake, so refuse it (``ctx.key`` names the field).
            for name, info in cls.model_fields.items():
                key = info.alias or name
                value = data.get(key, data.get(name))
                items = value if isinstance(value, list) else [value]
                if any(isinstance(v, bool) for v in items) and _refuses_bool(info.annotation):
                    template = (
                        "expected numbers, found a boolean in {value}"
                        if isinstance(value, list)
                        else "expected a number, found the boolean {value}"
                    )
                    raise PydanticCustomError(
                        "bool_not_number", template, {"key": key, "value": str(value).lower()}
                    )
        return data
