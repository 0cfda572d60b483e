"""Render a :class:`~steppe.report.document.Document` as one self-contained HTML file.

The page loads nothing: the CSS is inline, every figure is an ``<img>`` with a base64 PNG
``data:`` URI, and there is no script. It prints on A4 and reads on a phone.
"""

from __future__ import annotations

import base64
from html import escape

from steppe.report.document import Document, Section, Table

__all__ = ["render_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1000px; padding: 1.5rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #ccc; margin-top: 2rem; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 0.25rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
caption { caption-side: bottom; text-align: left; color: #555; font-size: 0.8rem;
          padding-top: 0.3rem; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.15rem 1rem;
           font-size: 0.9rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; word-break: break-all; }
figure { margin: 1.2rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85rem; }
.flag { font-weight: 700; color: #b00; }
"""


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.header)
    body = []
    for row in t.rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="num"' if i in t.numeric else ""
            text = escape(cell)
            if cell == "yes" and t.header[i].startswith("beyond"):
                text = '<span class="flag">yes</span>'
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{escape(t.caption)}</caption>" if t.caption else ""
    return (
        f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>"
        + "\n".join(body)
        + "</tbody></table>"
    )


def _section(s: Section) -> str:
    parts = [f"<section><h2>{escape(s.heading)}</h2>"]
    parts += [f"<p>{escape(p)}</p>" for p in s.paragraphs]
    parts += [_table(t) for t in s.tables]
    for f in s.figures:
        data = base64.b64encode(f.png).decode("ascii")
        parts.append(
            f'<figure id="fig-{escape(f.name)}"><img src="data:image/png;base64,{data}" '
            f'alt="{escape(f.title)}"><figcaption><strong>{escape(f.title)}.</strong> '
            f"{escape(f.caption)}</figcaption></figure>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_html(doc: Document) -> str:
    """The report as a complete HTML document (UTF-8 text)."""
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in doc.facts)
    sections = "\n".join(_section(s) for s in doc.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(doc.title)}</title><style>{_CSS}</style></head>\n"
        f"<body><h1>{escape(doc.title)}</h1>"
        f'<p class="subtitle">{escape(doc.subtitle)}</p>'
        f'<dl class="facts">{facts}</dl>\n{sections}\n</body></html>\n'
    )
