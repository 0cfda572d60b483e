"""Shared pytest fixtures."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

import steppe
from steppe.model.scenario import Scenario


@pytest.fixture
def scenario_from_yaml() -> Callable[[str], Scenario]:
    """Build a scenario from (indented) YAML text: ``scenario_from_yaml('''name: x ...''')``."""

    def build(text: str) -> Scenario:
        return steppe.loads(textwrap.dedent(text))

    return build
