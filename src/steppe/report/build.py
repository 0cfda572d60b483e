"""Write reports into folders: ``report.html``, ``report.md`` and ``figures/*.png``.

:func:`write_document` writes a built :class:`~steppe.report.document.Document` into a
folder: the figures first (a new ``figures/`` folder built aside and swapped in), then
``report.md`` and ``report.html``, each replaced atomically, so a reader never sees a
half-written file. :func:`write_report` regenerates a result folder's report from its
``summary.json`` and ``manifest.json`` alone (``steppe report RESULT_DIR``), its figures
drawn in worker processes while it builds the rest (:mod:`steppe.report.parallel`).
"""

from __future__ import annotations

from pathlib import Path

from steppe.errors import ResultError
from steppe.report.document import Document
from steppe.report.html import render_html
from steppe.report.markdown import render_markdown
from steppe.report.parallel import drawing
from steppe.report.run_report import run_document
from steppe.report.watch import watch_section
from steppe.results.folders import MARKER, folder_kind
from steppe.results.io import read_summary_manifest, replace_folder, write_text_atomic

__all__ = ["FIGURES", "HTML", "MARKDOWN", "write_document", "write_report"]

HTML = "report.html"
MARKDOWN = "report.md"
FIGURES = "figures"


def write_document(folder: Path, doc: Document, *, html: bool = True) -> None:
    """Write ``doc`` as ``report.md`` + ``figures/`` (and ``report.html``) into ``folder``.

    Raises
    ------
    ResultError
        If a file cannot be written; files already replaced stay replaced, the others are
        unchanged, and no temporary file remains.
    """
    folder = Path(folder)
    figures = doc.figures()

    def write(tmp: Path) -> None:
        for fig in figures:
            (tmp / f"{fig.name}.png").write_bytes(fig.png)

    replace_folder(write, folder / FIGURES)
    write_text_atomic(folder / MARKDOWN, render_markdown(doc, figure_dir=FIGURES))
    if html:
        write_text_atomic(folder / HTML, render_html(doc))


def write_report(result_dir: Path, *, html: bool = True) -> Path:
    """Regenerate the report of a result folder from its ``summary.json`` and manifest.

    Parameters
    ----------
    result_dir
        A folder written by ``steppe run``. With ``indicators.parquet`` (and
        ``samples.parquet``) the report gets a "What to watch" section
        (:mod:`steppe.report.watch`); without, it is built from the JSON files alone.
    html
        Also write ``report.html``.

    Returns
    -------
    Path
        The path of ``report.md``.

    Raises
    ------
    ResultError
        If the folder is not a steppe result folder (no marker ``.steppe``, see
        :mod:`steppe.results.folders`: steppe writes only into its own folders), its JSON
        files are missing or invalid, or a file cannot be written.
    """
    result_dir = Path(result_dir)
    summary, manifest = read_summary_manifest(result_dir)
    if folder_kind(result_dir) != "result":
        raise ResultError(
            f"{result_dir}: not a steppe result folder (it has no {MARKER} marker of a "
            "result folder); steppe writes reports only into result folders it wrote"
        )
    for key in ("scenario", "outcomes", "replications", "seed", "horizon"):
        if key not in summary:
            raise ResultError(f"{result_dir / 'summary.json'}: no {key!r}; not a steppe summary")
    with drawing(summary) as figures:  # drawn in worker processes meanwhile
        watch = watch_section(result_dir)  # None without indicators.parquet
        doc = run_document(summary, manifest, figures(), watch=watch)
    write_document(result_dir, doc, html=html)
    return result_dir / MARKDOWN
