"""The Bokeh side shared by every panel: line plots fed by `Curves`, and a controller that redraws on slider moves,
shows bad settings as a message in the page, and runs "simulate" off the server's event loop.

"Simulate" follows Bokeh's pattern for blocking work in a server app (Bokeh user guide, "Bokeh server: updating
from threads"): the work runs in a thread executor and its result is applied to the document by
``doc.add_next_tick_callback``, under the document lock, so the page keeps answering while the engine trains.
"""

from __future__ import annotations

import concurrent.futures
import functools
import html
from typing import Any, Callable

from bokeh.models import Button, ColumnDataSource, Div
from bokeh.plotting import figure

from layerwise.explore.common import Curves



@functools.cache
def redraw_executor() -> concurrent.futures.ThreadPoolExecutor:
    """Worker threads for redraws that compile (initial draws, shape changes), apart from the simulations' pool so
    that a long compilation never queues a simulation behind it."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="layerwise-redraw")


def empty_lines() -> dict[str, list]:
    return {"xs": [], "ys": [], "label": [], "color": []}


def line_plot(name: str, title: str, x_label: str, y_label: str, *, x_log: bool = False, y_log: bool = False,
              simulation: bool = True, width: int = 560, height: int = 360):
    """A figure with a solid ``{name}_theory`` and (optionally) a dashed ``{name}_simulation`` multi-line source."""
    plot = figure(title=title, width=width, height=height, x_axis_label=x_label, y_axis_label=y_label,
                  x_axis_type="log" if x_log else "linear", y_axis_type="log" if y_log else "linear",
                  name=f"{name}_figure", tools="pan,wheel_zoom,box_zoom,reset,save")
    theory_source = ColumnDataSource(empty_lines(), name=f"{name}_theory")
    plot.multi_line("xs", "ys", source=theory_source, line_color="color", line_width=2, legend_field="label")
    sources = {"theory": theory_source}
    if simulation:
        sources["simulation"] = ColumnDataSource(empty_lines(), name=f"{name}_simulation")
        plot.multi_line("xs", "ys", source=sources["simulation"], line_color="color", line_width=2,
                        line_dash="dashed")
    plot.legend.location = "bottom_right"
    plot.legend.label_text_font_size = "8pt"
    return plot, sources


def set_lines(source: ColumnDataSource, curves: Curves, colors: list[str] | None = None) -> None:
    data = curves.source_data()
    if colors is not None:
        data["color"] = colors
    source.data = data


def short_error(error: BaseException) -> str:
    """One line for the page: the first line of the error's message (an equinox runtime check keeps its text)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class PanelController:
    """Redraws one panel from its widgets and runs its simulation in a worker thread.

    ``read`` turns the widgets into a settings object (raising `LayerwiseError` for bad input), ``redraw`` evaluates
    the closed forms for those settings and returns a function that puts them into the data sources (and returns the
    note shown under the plots), so that the evaluation can run in a worker thread and only the drawing on the
    event loop; ``simulate`` returns ``(overlay, max gap)`` and ``show_simulation`` draws it."""

    def __init__(self, doc, name: str, read: Callable[[], Any], redraw: Callable[[Any], Callable[[], str]],
                 simulate: Callable[[Any], tuple[Curves, float]], show_simulation: Callable[[Curves], None],
                 executor: concurrent.futures.Executor, stale: tuple[ColumnDataSource, ...] = ()):
        self.stale = stale  # simulation overlays that no longer match once a control moves
        self.doc, self.name, self.read, self.redraw = doc, name, read, redraw
        self.simulate, self.show_simulation, self.executor = simulate, show_simulation, executor
        self.note = Div(text="", name=f"{name}_note", width=900)
        self.message = Div(text="", name=f"{name}_message", width=900, styles={"color": "#b00020",
                                                                                 "font-weight": "bold"})
        self.status = Div(text="", name=f"{name}_status", width=900)
        self.button = Button(label="simulate", button_type="primary", name=f"{name}_simulate", width=120)
        self.button.on_click(self.start_simulation)

    def changed(self, attr, old, new) -> None:
        """Callback of controls that keep array shapes: redraw now (closed forms only, milliseconds)."""
        self.update()

    def changed_shape(self, attr, old, new) -> None:
        """Callback of controls that change shapes (a new compilation): "computing…" while a worker redraws."""
        self.update_in_background()

    def _settings(self):
        for source in self.stale:
            source.data = empty_lines()
        try:
            return self.read()
        except Exception as error:  # shown in the page, never a traceback in the terminal
            self.message.text = html.escape(short_error(error))
            self.status.text = ""
            return None

    def _show(self, draw: Callable[[], str]) -> None:
        self.note.text = html.escape(draw())
        self.message.text = ""
        self.status.text = ""

    def update(self) -> None:
        """Redraw the closed forms for the controls' current values, on the event loop."""
        settings = self._settings()
        if settings is None:
            return
        try:
            self._show(self.redraw(settings))
        except Exception as error:
            self.message.text = html.escape(short_error(error))
            self.status.text = ""

    def update_in_background(self) -> None:
        """The same, with the evaluation (and any compilation) in the worker thread: the page stays responsive."""
        settings = self._settings()
        if settings is None:
            return
        self.status.text = "computing…"
        self._submit(redraw_executor(), self.redraw, settings, self._drawn)

    def _drawn(self, future: concurrent.futures.Future) -> None:
        try:
            self._show(future.result())
        except Exception as error:
            self.message.text = html.escape(short_error(error))
            self.status.text = ""

    def _submit(self, executor, work, settings, finish) -> None:
        def deliver(done: concurrent.futures.Future) -> None:
            try:
                self.doc.add_next_tick_callback(functools.partial(finish, done))
            except Exception:  # the session is gone (page closed, server stopped): nothing left to draw on
                pass

        executor.submit(work, settings).add_done_callback(deliver)

    def start_simulation(self) -> None:
        try:
            settings = self.read()
        except Exception as error:
            self.message.text = html.escape(short_error(error))
            return
        self.button.disabled = True
        self.status.text = "simulating with layerwise.engine.train…"
        self._submit(self.executor, self.simulate, settings, self._finished)

    def _finished(self, future: concurrent.futures.Future) -> None:
        self.button.disabled = False
        try:
            curves, gap = future.result()
        except Exception as error:
            self.status.text = ""
            self.message.text = html.escape(f"simulation failed: {short_error(error)}")
            return
        self.show_simulation(curves)
        self.status.text = f"simulation (dashed): max |theory − simulation| = {gap:.3g}"
