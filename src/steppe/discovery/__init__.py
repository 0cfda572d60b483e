"""Scenario discovery: in which worlds does an outcome happen? (``steppe discover``)

* :mod:`~steppe.discovery.prim` -- PRIM (peeling, pasting, quasi-p-values), NumPy only;
* :mod:`~steppe.discovery.cart` -- a shallow CART tree (scikit-learn, imported when used);
* :mod:`~steppe.discovery.data` -- the cases: a run's replications with their parameter
  draws, or a sweep's design points;
* :mod:`~steppe.discovery.api` -- :func:`discover` and :class:`Discovery`;
* :mod:`~steppe.discovery.report` -- ``discovery.json``, the report and its figures;
* :mod:`~steppe.discovery.cli` -- the ``steppe discover`` command.

Importing this package loads nothing else: ``steppe discover``'s module imports it when
the CLI starts (``steppe --help`` stays light, ``tests/test_imports.py``).
"""

from typing import TYPE_CHECKING

from steppe._lazy import lazy_exports

if TYPE_CHECKING:
    from steppe.discovery.api import Discovery, discover

__all__ = ["Discovery", "discover"]

__getattr__, __dir__ = lazy_exports(
    __name__, {"Discovery": "steppe.discovery.api", "discover": "steppe.discovery.api"}, globals()
)
