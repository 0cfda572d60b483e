"""Reports in a real browser: headless Chromium opens report.html of a run and of a comparison.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium`` and
``/usr/bin/chromedriver``) and the ``selenium`` package (the ``test`` extra). Without them the
tests are skipped with the reason, unless ``STEPPE_REQUIRE_BROWSER=1`` (set by ``.ci/run``),
which turns the skip into a failure. Selenium Manager is never asked to download a driver:
the driver's path is given explicitly and ``SE_OFFLINE`` is set.

Each test saves a screenshot to ``test-artifacts/`` at the repository root (gitignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import steppe

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests" / "data" / "smoke.yaml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "test-artifacts"

#: Collects uncaught errors and console.error calls; injected before any page script runs.
COLLECTOR = """
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)), true);
const origError = console.error;
console.error = (...a) => { window.__errors.push(a.map(String).join(' ')); origError(...a); };
"""


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.is_file():
            return f"{path} not found (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("STEPPE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"STEPPE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1100,1400",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        drv.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COLLECTOR})
        yield drv
    finally:
        drv.quit()


def _check_page(drv: Any, html: Path, screenshot: str) -> int:
    """Open ``html``; no console errors; every figure loaded and non-empty. Returns #figures."""
    drv.get(html.resolve().as_uri())
    assert drv.execute_script("return document.readyState") == "complete"
    errors = drv.execute_script("return window.__errors")
    severe = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [] and severe == [], (errors, severe)
    images = drv.execute_script(
        "return Array.from(document.images).map(i => "
        "[i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width, i.alt])"
    )
    assert images, "no figures in the report"
    for complete, nat_w, nat_h, shown_w, alt in images:
        assert complete and nat_w > 0 and nat_h > 0 and shown_w > 0, alt
    ARTIFACTS.mkdir(exist_ok=True)
    height = drv.execute_script("return document.body.scrollHeight")
    drv.set_window_size(1100, min(int(height) + 100, 16000))
    path = ARTIFACTS / screenshot
    assert drv.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    print(f"screenshot: {path}")
    return len(images)


def test_run_report_in_a_browser(driver: Any, tmp_path: Path) -> None:
    out = steppe.run(SMOKE, replications=200, seed=2).write(tmp_path / "run")
    n = _check_page(driver, out / "report.html", "report.png")
    assert n == len(list((out / "figures").iterdir()))


def test_comparison_report_in_a_browser(driver: Any, tmp_path: Path) -> None:
    variant = tmp_path / "smoke_calm.yaml"
    shutil.copy(SMOKE, tmp_path / "smoke.yaml")
    variant.write_text(
        "extends: smoke.yaml\nname: smoke_calm\ntitle: fewer shocks\n"
        "description: the smoke scenario with fewer shocks\nparameters:\n  shock_rate: 0.2\n",
        encoding="utf-8",
    )
    cmp = steppe.compare(tmp_path / "smoke.yaml", variant, replications=200)
    out = cmp.write(tmp_path / "cmp")
    n = _check_page(driver, out / "report.html", "comparison.png")
    assert n == len(list((out / "figures").iterdir()))
