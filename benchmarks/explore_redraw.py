"""Slider redraw time of ``layerwise explore`` (issue #15: sliders that keep shapes should redraw within 200 ms).

Two measurements, both after a warm-up (compilation excluded, as a user meets it after the first draw):

1. **server side**, in process: for each panel, the redraw a shape-keeping slider triggers (the panel's
   ``theory_curves`` at a new value, i.e. the `layerwise.theory` closed forms, plus the data-source columns), median
   over ``--moves`` slider positions; printed beside the budget (200 ms) and beside the same-run baseline of
   building the columns alone (``Curves.source_data`` of the previous curves), so the closed forms' share shows;
2. **end to end** (``--browser``), the app in a server thread and headless system Chromium (Playwright): set a
   slider's value in the page and wait until the plotted data source holds new values (browser -> websocket ->
   Python callback -> theory -> websocket -> BokehJS), median over ``--moves`` moves.

Run by hand:  ``python benchmarks/explore_redraw.py [--moves 15] [--browser]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import numpy as np

BUDGET_MS = 200.0


def _panels():
    from layerwise.explore import emergence_panel as e, feedback as f, grokking_panel as g, lambda_panel as lam

    return {
        "feedback (C slider, depth 2)": (lambda v: f.theory_curves(f.FeedbackSettings(mode_imbalance=v))[0],
                                         np.linspace(0.1, 10.0, 40)),
        "feedback (C slider, depth 3: ODE)": (lambda v: f.theory_curves(f.FeedbackSettings(
                                                  depth=3, init_scale=1e-2, mode_imbalance=v))[0],
                                              np.linspace(0.1, 5.0, 40)),
        "λ-balanced (λ slider)": (lambda v: lam.theory_curves(lam.LambdaSettings(imbalance=v))[0],
                                  np.linspace(-3.0, 3.0, 40)),
        "grokking (log Σ₀ slider)": (lambda v: g.theory_curves(g.GrokkingSettings(log_sigma0=v))[0],
                                     np.linspace(-2.0, 2.0, 40)),
        "emergence (α slider)": (lambda v: e.theory_curves(e.EmergenceSettings(alpha=v))[0],
                                 np.linspace(0.2, 2.0, 40)),
    }


def server_side(moves: int) -> None:
    print(f"server side: median of {moves} slider moves, compilation excluded")
    print(f"{'panel':38s} {'redraw ms':>10s} {'columns µs':>11s} {'redraw/columns':>15s} {'budget share':>13s}")
    for name, (draw, values) in _panels().items():
        curves = draw(values[0])  # warm-up: compiles
        redraws, columns = [], []
        for value in values[1: moves + 1]:
            start = time.perf_counter()
            curves = draw(float(value))
            curves.source_data()
            redraws.append(time.perf_counter() - start)
            start = time.perf_counter()
            curves.source_data()
            columns.append(time.perf_counter() - start)
        redraw, column = 1e3 * statistics.median(redraws), 1e6 * statistics.median(columns)
        print(f"{name:38s} {redraw:10.1f} {column:11.1f} {1e3 * redraw / column:14.0f}x {redraw / BUDGET_MS:12.0%}")


def end_to_end(moves: int) -> None:
    from playwright.sync_api import sync_playwright

    from layerwise.explore.app import BackgroundServer

    model = "name => Bokeh.documents[0].get_model_by_name(name)"
    sliders = {"feedback": ("feedback_imbalance", np.linspace(0.5, 10.0, moves + 1)),
               "lambda": ("lambda_imbalance", np.linspace(-2.5, 2.5, moves + 1)),
               "grokking": ("grokking_log_sigma0", np.linspace(-1.5, 1.5, moves + 1)),
               "emergence": ("emergence_alpha", np.linspace(0.3, 2.0, moves + 1))}
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with BackgroundServer() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.goto(url, timeout=180_000)
        print(f"end to end (browser -> server -> theory -> browser): median of {moves} moves")
        for panel, (slider, values) in sliders.items():
            page.wait_for_function(f"() => window.Bokeh && Bokeh.documents.length && ({model})('{panel}_theory')"
                                   ".data.xs.length > 0", timeout=180_000)
            times = []
            for index, value in enumerate(values):
                before = page.evaluate(f"() => ({model})('{panel}_theory').data.ys[0][1]")
                start = time.perf_counter()
                page.evaluate(f"([n, v]) => {{ ({model})(n).value = v }}", [slider, float(value)])
                page.wait_for_function(f"old => ({model})('{panel}_theory').data.ys[0][1] !== old", arg=before,
                                       timeout=120_000, polling=5)
                if index:  # the first move compiles
                    times.append(time.perf_counter() - start)
            median = 1e3 * statistics.median(times)
            print(f"{panel:12s} {slider:22s} {median:8.1f} ms  ({median / BUDGET_MS:.0%} of the 200 ms budget)")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=15)
    parser.add_argument("--browser", action="store_true", help="also time the end-to-end redraw in Chromium")
    options = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    server_side(options.moves)
    if options.browser:
        end_to_end(options.moves)


if __name__ == "__main__":
    main()
