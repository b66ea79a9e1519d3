"""The explorer in a real browser (headless system Chromium driven by Playwright): the app serves its page, a slider
move redraws `layerwise.theory` at the new setting, "simulate" overlays the engine's run, and the report's static
explorer works from ``file://``. Integration tests (a server thread and a browser process)."""

import time
from pathlib import Path

import numpy as np
import pytest

from layerwise import theory

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    pytest.skip("playwright is not installed (pip install playwright; no browser download needed)",
                allow_module_level=True)

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
MODEL = "name => Bokeh.documents[0].get_model_by_name(name)"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app_page(browser):
    from layerwise.explore.app import BackgroundServer

    with BackgroundServer() as url:
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(url, timeout=90_000)
        page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length && ({MODEL})('feedback_theory')"
                               ".data.xs.length == 4", timeout=90_000)
        yield page, errors
        page.close()


def _lines(page, name: str):
    data = page.evaluate(f"name => {{ const d = ({MODEL})(name).data; "
                         "return {xs: d.xs.map(a => Array.from(a)), ys: d.ys.map(a => Array.from(a))} }", name)
    return np.array(data["xs"]), np.array(data["ys"])


def _set(page, name: str, value) -> None:
    page.evaluate(f"([name, value]) => {{ ({MODEL})(name).value = value }}", [name, value])


def _text(page, name: str) -> str:
    return page.evaluate(f"name => ({MODEL})(name).text", name)


def test_app_serves_its_page(app_page):
    page, errors = app_page
    assert page.title() == "layerwise explore"
    assert "saxe_mode" in _text(page, "feedback_note")
    assert errors == []


def test_slider_redraws_the_closed_form_and_bad_input_is_a_message(app_page):
    page, _ = app_page
    _, before = _lines(page, "feedback_theory")
    _set(page, "feedback_imbalance", 2.5)
    page.wait_for_function(f"() => ({MODEL})('feedback_note').text.includes('imbalanced_mode')", timeout=30_000)
    xs, ys = _lines(page, "feedback_theory")
    s = np.array([4.0, 2.0, 1.0, 0.5])
    expected = np.asarray(theory.imbalanced_mode(xs.T, s, 1e-4, 2.5)).T / s[:, None]
    assert not np.allclose(ys, before)
    np.testing.assert_allclose(ys, expected, rtol=1e-9, atol=0)
    _set(page, "feedback_imbalance", 0.0)
    _set(page, "feedback_init", "-1")  # a balanced init cannot have u0 <= 0
    page.wait_for_function(f"() => ({MODEL})('feedback_message').text.includes('needs u0 &gt; 0')", timeout=30_000)
    _set(page, "feedback_init", "1e-4")
    page.wait_for_function(f"() => ({MODEL})('feedback_message').text == ''", timeout=30_000)


def test_simulate_overlays_within_a_minute(app_page):
    page, errors = app_page
    started = time.monotonic()
    page.get_by_role("button", name="simulate").first.click()
    page.wait_for_function(f"() => ({MODEL})('feedback_simulation').data.xs.length == 4", timeout=60_000)
    assert time.monotonic() - started < 60
    status = _text(page, "feedback_status")
    assert "max |theory − simulation|" in status
    assert float(status.rsplit("=", 1)[1]) < 0.02  # GD at lr 1e-3 follows the sigmoid
    assert errors == []


def test_static_explorer_works_from_file(browser, tmp_path):
    from layerwise.report.html import write_report

    index = write_report(tmp_path, [], {}, {})
    page = browser.new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("http*://**", lambda route: (errors.append(f"network request {route.request.url}"), route.abort()))
    page.goto(index.as_uri())
    page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length && ({MODEL})('static_feedback_theory')",
                           timeout=30_000)
    _set(page, "static_feedback_imbalance", 3.0)
    _set(page, "static_feedback_log_init", -6.0)
    page.wait_for_timeout(300)
    xs, ys = _lines(page, "static_feedback_theory")
    s = np.array([4.0, 2.0, 1.0, 0.5])
    expected = np.asarray(theory.imbalanced_mode(xs.T, s, 1e-6, 3.0)).T / s[:, None]
    np.testing.assert_allclose(ys, expected, rtol=1e-6, atol=1e-7)  # stored as float32
    assert errors == []
    page.close()
