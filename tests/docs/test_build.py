"""The docs site builds with ``mkdocs build --strict`` (broken links, missing pages and docstring warnings fail), every
public name has an anchor in the API reference, the math is handed to the vendored KaTeX, and the gallery hook
builds its page from a results folder. Marked integration: it runs mkdocs in a subprocess (about 15 s)."""

import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.test_reference import directives, resolve

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")


def _fake_results(folder: Path) -> Path:
    """A results folder as `layerwise reproduce` writes it (summary.json + one PNG), without running anything."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    experiment = folder / "feedback"
    experiment.mkdir(parents=True)
    figure = plt.figure()
    figure.savefig(experiment / "feedback.png")
    plt.close(figure)
    summary = {"experiment": "feedback", "quick": True, "passed": 1, "failed": 0, "wall_time_s": 1.0,
               "figures": ["feedback.png"], "checks": [{"name": "stage_order", "claim": "modes in order of S",
                                                         "value": 0.0, "expected": "== 0", "passed": True}]}
    (experiment / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built once, strictly, with a gallery folder."""
    folder = tmp_path_factory.mktemp("docs")
    site = folder / "site"
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_MKDOCS_2_WARNING": "1",
                   "LAYERWISE_GALLERY_DIR": str(_fake_results(folder / "results"))}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return site


@pytest.mark.integration
def test_the_site_builds_strictly_with_every_public_name_and_the_gallery(site):
    html = "\n".join(page.read_text(encoding="utf-8") for page in (site / "reference").rglob("*.html"))
    anchors = set(re.findall(r'id="(layerwise\.[\w.]+)"', html))
    missing = [path for path in directives() if path not in anchors]
    assert not missing, f"directives without an anchor in the built reference: {missing}"
    assert 'class="arithmatex"' in html and (site / "assets/katex/katex.min.js").is_file()
    assert "fonts.googleapis" not in (site / "index.html").read_text(encoding="utf-8")
    gallery = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    assert "stage_order" in gallery and (site / "gallery" / "feedback" / "feedback.png").is_file()


@pytest.mark.integration
def test_the_math_renders_offline_in_a_browser(site):
    """KaTeX typesets the docstrings' equations in Chromium, and the page asks for nothing outside the site."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("system Chromium not installed")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto((site / "reference" / "closed-forms" / "index.html").as_uri())
        page.wait_for_selector(".katex", timeout=20_000)
        rendered, failed = page.locator(".katex").count(), page.locator(".katex-error").count()
        browser.close()
    assert rendered > 20 and failed == 0
    assert all(url.startswith("file:") for url in requests), [u for u in requests if not u.startswith("file:")]


def test_the_gallery_page_says_how_to_build_it_without_results(monkeypatch):
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        gallery = importlib.import_module("gallery")
    finally:
        sys.path.pop(0)
    monkeypatch.delenv(gallery.ENVIRONMENT_VARIABLE, raising=False)
    page = (ROOT / "docs" / "gallery.md").read_text()
    assert gallery.MARKER in page and "layerwise reproduce --quick" in page
    assert gallery._results() == []
    assert inspect.isfunction(gallery.on_page_markdown)
