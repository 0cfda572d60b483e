"""Scenario discovery: in which worlds does an outcome happen? (``steppe discover``)

* :mod:`~steppe.discovery.prim` -- PRIM (peeling, pasting, quasi-p-values), NumPy only;
* :mod:`~steppe.discovery.cart` -- a shallow CART tree (scikit-learn, imported when used);
* :mod:`~steppe.discovery.data` -- the cases: a run's replications with their parameter
  draws, or a sweep's design points;
* :mod:`~steppe.discovery.api` -- :func:`discover` and :class:`Discovery`;
* :mod:`~steppe.discovery.report` -- ``discovery.json``, the report and its figures;
* :mod:`~steppe.discovery.cli` -- the ``steppe discover`` command.

Importing this package loads NumPy only.
"""

from steppe.discovery.api import Discovery, discover

__all__ = ["Discovery", "discover"]
