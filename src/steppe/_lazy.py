"""Lazy exports of a package (PEP 562): its public names load their modules on first use.

``import steppe`` and the ``steppe`` command's start-up import only what they use (issue 18):
a package lists each exported name with the module that defines it, and the module is
imported when the name is first read. Each package also imports the names under
``typing.TYPE_CHECKING``, so that type checkers and IDEs see them.

A lazily exported name may be also the name of a submodule: ``steppe.load`` is the function
:func:`steppe.load.load` and the package :mod:`steppe.load`. Importing a submodule sets it
as an attribute of its parent package; the eager ``from steppe.load import load`` used to
overwrite that attribute at once, and :class:`_Package` now keeps it from hiding the name.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``.

    Parameters
    ----------
    package
        The package's ``__name__`` (for the message of an unknown name).
    names
        Each lazily exported name and the module that defines it under that name.
    namespace
        The package's ``globals()``: a name, once loaded, is stored there, so that later
        reads do not call ``__getattr__`` again.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to assign at the package's top level.
    """

    def getattr_(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(names))

    module = sys.modules[package]
    module.__class__ = _Package
    namespace["_lazy_names"] = frozenset(names)
    return getattr_, dir_


class _Package(types.ModuleType):
    """A package whose lazily exported names are not replaced by submodules of the same
    name when the import system sets those on it (``steppe.load`` stays the function)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ == f"{self.__name__}.{name}"
            and name in self.__dict__.get("_lazy_names", ())
        ):
            return
        super().__setattr__(name, value)
