"""The sweep folder: table, manifest, sensitivity indices, charts and an HTML report.

::

    DIR/
    ├── checkpoint.json, points/   the checkpoint (see :mod:`steppe.sweeps.checkpoint`)
    ├── points.parquet             one row per design point (see :func:`steppe.sweep`)
    ├── points.csv                 the same table as CSV
    ├── manifest.json              seed, replications, design, n, engine, versions, sha256
    ├── sensitivity.json           with a method: indices per outcome and parameter
    ├── tornado.png                change low → high per parameter, or Sobol'/Morris bars
    ├── oneway.png                 one-way curves with Monte Carlo error bands
    └── report.html                all of the above in one self-contained page

Every file is written to a temporary name in the folder and moved into place with
:func:`os.replace`, so a reader never sees a half-written file.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import importlib.metadata
import json
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from steppe.results.io import write_file_atomic, write_json_atomic
from steppe.sweeps.gsa import SensitivityResult
from steppe.sweeps.runner import SweepRun

__all__ = ["MAX_FIGURE_OUTCOMES", "build_manifest", "write_outputs"]

#: Outcomes drawn when none are chosen: the charts of 28 outcomes would be unreadable.
MAX_FIGURE_OUTCOMES = 6
#: Rows of the points table shown in the HTML report (all rows are in the Parquet/CSV).
MAX_HTML_ROWS = 200


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_manifest(swept: SweepRun, *, wall: float, executor: str, n: int | None) -> dict[str, Any]:
    """The content of ``manifest.json``."""
    done = len(swept.table) - swept.resumed
    return {
        **swept.key,
        "n": n,
        "scenario_file": swept.scenario.file,
        "statistics": dict(swept.statistics),
        "executor": executor,
        "points_resumed": swept.resumed,
        "wall_seconds": round(wall, 6),
        "points_per_second": round(done / wall, 3) if wall > 0 and done else None,
        "versions": {
            k: _version(k) for k in ("steppe", "numpy", "scipy", "pandas", "SALib", "distributed")
        }
        | {"python": platform.python_version()},
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _img(name: str, data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
    )


def _html(
    swept: SweepRun,
    manifest: Mapping[str, Any],
    images: Sequence[str],
    sens: SensitivityResult | None,
    figure_outcomes: Sequence[str],
) -> str:
    esc = html.escape
    meta = "".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(json.dumps(v))}</td></tr>" for k, v in manifest.items()
    )
    stats = "".join(
        f"<li><code>{esc(o)}</code>: {esc(s)} (and <code>{esc(o)}_se</code>)</li>"
        for o, s in swept.statistics.items()
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>steppe sweep: {esc(swept.scenario.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>",
        f"<h1>Sweep of {esc(swept.scenario.name)}</h1>",
        f"<p>{esc(swept.scenario.spec.title)}</p>",
        f"<p>{len(swept.table)} design points ({esc(str(swept.key['design']))}), "
        f"{swept.key['replications']:,} replications each, seed {swept.key['seed']}, the same "
        "seed at every point (common random numbers). Charts show "
        f"{', '.join(esc(o) for o in figure_outcomes)}.</p>",
        f"<h2>Columns</h2><ul>{stats}</ul>",
        "<h2>Charts</h2>",
        *images,
    ]
    if sens is not None:
        parts += [
            f"<h2>Sensitivity ({esc(sens.method)})</h2>",
            "<p>Noise share (Monte Carlo variance / variance across points; small is good): "
            + ", ".join(f"{esc(o)} {v:.3g}" for o, v in sens.noise_share.items())
            + "</p>",
            sens.to_frame().to_html(float_format=lambda x: f"{x:.4g}"),
        ]
    shown = swept.table.head(MAX_HTML_ROWS)
    parts += [
        f"<h2>Design points ({len(shown)} of {len(swept.table)} shown)</h2>",
        shown.to_html(index=False, float_format=lambda x: f"{x:.6g}"),
        f"<h2>Manifest</h2><table>{meta}</table></body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_outputs(
    folder: Path,
    swept: SweepRun,
    *,
    manifest: Mapping[str, Any],
    sens: SensitivityResult | None = None,
    figure_outcomes: Sequence[str] | None = None,
) -> list[Path]:
    """Write the table, manifest, sensitivity indices, charts and report into ``folder``."""
    from steppe.sweeps import figures  # matplotlib only when drawing

    table = swept.table
    shown = list(figure_outcomes or swept.outcomes[:MAX_FIGURE_OUTCOMES])
    params = list(swept.design.names)
    written = []

    def target(name: str) -> Path:
        written.append(folder / name)
        return folder / name

    plain = pd.DataFrame(table)
    plain.attrs = {}  # attrs hold nested dicts, which Parquet metadata need not carry
    write_file_atomic(target("points.parquet"), lambda p: plain.to_parquet(p, engine="pyarrow"))
    write_file_atomic(target("points.csv"), lambda p: plain.to_csv(p, index=False))
    write_json_atomic(target("manifest.json"), manifest)
    if sens is not None:
        write_json_atomic(target("sensitivity.json"), sens.to_dict())
    labels = dict(swept.statistics)
    tornado = figures.png_bytes(
        figures.tornado_figure(
            table,
            params,
            shown,
            labels,
            indices=None if sens is None else sens.indices,
            method=None if sens is None else sens.method,
        )
    )
    oneway = figures.png_bytes(figures.oneway_figure(table, params, shown, labels))
    write_file_atomic(target("tornado.png"), lambda p: p.write_bytes(tornado))
    write_file_atomic(target("oneway.png"), lambda p: p.write_bytes(oneway))
    images = [
        _img("tornado.png", tornado, "tornado chart"),
        _img("oneway.png", oneway, "one-way curves with Monte Carlo error bands"),
    ]
    page = _html(swept, manifest, images, sens, shown)
    write_file_atomic(target("report.html"), lambda p: p.write_text(page, encoding="utf-8"))
    return written
