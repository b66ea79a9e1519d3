"""Screenshots of the four ``layerwise explore`` panels for docs/explore.md (Playwright + system Chromium).

Each panel is shown at its default settings after one "simulate" (the dashed overlay and the measured gap).
Run by hand from the repository root:  ``python docs/assets/explore/make_screenshots.py``
"""

from pathlib import Path

import jax
from playwright.sync_api import sync_playwright

from layerwise.explore.app import PANELS, BackgroundServer

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
MODEL = "name => Bokeh.documents[0].get_model_by_name(name)"
HERE = Path(__file__).parent


def main() -> None:
    jax.config.update("jax_enable_x64", True)
    with BackgroundServer() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1560, "height": 560})
        page.goto(url, timeout=180_000)
        for name, title in PANELS:
            page.get_by_text(title, exact=True).click()
            page.wait_for_function(f"() => ({MODEL})('{name}_theory').data.xs.length > 0", timeout=180_000)
            page.get_by_role("button", name="simulate").filter(visible=True).first.click()
            page.wait_for_function(f"() => ({MODEL})('{name}_status').text.includes('max')", timeout=180_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(HERE / f"{name}.png"))
        browser.close()


if __name__ == "__main__":
    main()
