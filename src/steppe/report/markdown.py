"""Render a :class:`~steppe.report.document.Document` as Markdown with PNG figure links.

Figures are linked as ``figures/<name>.png`` relative to the report; the caller writes the
PNGs there. Tables are GitHub-flavoured Markdown pipe tables.
"""

from __future__ import annotations

from steppe.report.document import Document, Table

__all__ = ["render_markdown"]


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(t: Table) -> list[str]:
    align = ["---:" if i in t.numeric else "---" for i in range(len(t.header))]
    lines = [
        "| " + " | ".join(_cell(h) for h in t.header) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    if t.caption:
        lines += ["", f"*{_cell(t.caption)}*"]
    return [*lines, ""]


def render_markdown(doc: Document, *, figure_dir: str = "figures") -> str:
    """The report as Markdown; figure ``f`` is linked as ``{figure_dir}/{f.name}.png``."""
    lines = [f"# {doc.title}", "", doc.subtitle, ""]
    lines += [f"- **{k}:** {_cell(v)}" for k, v in doc.facts]
    lines.append("")
    for s in doc.sections:
        lines += [f"## {s.heading}", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for t in s.tables:
            lines += _table(t)
        for f in s.figures:
            lines += [
                f"![{_cell(f.title)}]({figure_dir}/{f.name}.png)",
                "",
                f"*{_cell(f.title)}.* {_cell(f.caption)}",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"
