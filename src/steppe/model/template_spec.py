"""The spec of a template: entries written once and generated for each of a list of actors.

A scenario's ``templates:`` is a list of :class:`TemplateSpec`. The loader expands them into
ordinary entries before the scenario is validated (:mod:`steppe.load.templates`), so the
model never sees a template; these models check a template's shape (with did-you-mean for
typos) and give ``steppe schema`` its part of the JSON Schema. The format is documented in
``docs/scenario-format.md``, "Templates".
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from steppe.model.base import Strict
from steppe.model.schema import MAX_ITEMS, Name, Text

__all__ = [
    "MAX_TEMPLATES",
    "PLACEHOLDERS",
    "TEMPLATE_SECTIONS",
    "ForEachSpec",
    "InstanceChanges",
    "TemplateSpec",
    "TemplatesSpec",
]

#: The sections a template may generate entries of, in the order they are expanded.
TEMPLATE_SECTIONS = ("parameters", "events", "series", "outcomes")
#: What may stand between braces in a template's names and text.
PLACEHOLDERS = ("actor", "actor.lower", "actor.name", "others", "others.lower", "others.name")
#: How many templates a scenario may have.
MAX_TEMPLATES = 100

_Entries = Annotated[dict[str, Any], Field(max_length=MAX_ITEMS)]
_Changes = Annotated[dict[str, dict[str, Any] | None], Field(max_length=MAX_ITEMS)]


class ForEachSpec(Strict):
    """What a template is repeated over: ``{actor: [UZ, TJ, TM, KG]}``."""

    actor: Annotated[list[Name], Field(min_length=1, max_length=MAX_ITEMS)] = Field(
        description="Keys of actors: one instance of the template for each, in this order."
    )

    @field_validator("actor")
    @classmethod
    def _unique(cls, actors: list[str]) -> list[str]:
        repeated = sorted({a for a in actors if actors.count(a) > 1})
        if repeated:
            raise ValueError(f"each actor may appear once, found repeated {repeated}")
        return actors


class InstanceChanges(Strict):
    """One instance's changes to its generated entries, by section then generated name: a
    mapping merged key by key onto the entry (``null`` deletes a key), or ``null`` to leave
    the entry out of this instance."""

    parameters: Annotated[dict[str, Any], Field(max_length=MAX_ITEMS)] = Field(default_factory=dict)
    events: _Changes = Field(default_factory=dict)
    series: _Changes = Field(default_factory=dict)
    outcomes: _Changes = Field(default_factory=dict)


class TemplateSpec(Strict):
    """Entries written once with placeholders (``{actor}``, ``{actor.lower}``, ``{others}``
    ...) and generated for each actor of ``for_each``."""

    for_each: ForEachSpec
    #: Given to each generated entry that has neither a source nor a why of its own.
    source: Text | None = None
    why: Text | None = None
    parameters: _Entries = Field(default_factory=dict)
    events: _Entries = Field(default_factory=dict)
    series: _Entries = Field(default_factory=dict)
    outcomes: _Entries = Field(default_factory=dict)
    overrides: Annotated[dict[Name, InstanceChanges], Field(max_length=MAX_ITEMS)] = Field(
        default_factory=dict
    )


class TemplatesSpec(Strict):
    """The ``templates:`` key of a scenario file (validated on its own, before expansion)."""

    templates: Annotated[list[TemplateSpec], Field(max_length=MAX_TEMPLATES)]
