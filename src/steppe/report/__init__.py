"""Reports of runs and comparisons: ``report.html``, ``report.md`` and ``figures/``.

Everything here reads the JSON documents of a result folder (``summary.json``,
``manifest.json``) or of a comparison (``comparison.json``), so a report can be rebuilt from
the folder alone. Importing this package imports matplotlib (Agg canvases only, no pyplot);
steppe's core never imports it.
"""

from steppe.report.build import write_document, write_report

__all__ = ["write_document", "write_report"]
