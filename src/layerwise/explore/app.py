"""The ``layerwise explore`` Bokeh server app: four tabs, one per panel, served on ``127.0.0.1``.

`make_document` builds one browser session's document; `start_server` runs `bokeh.server.server.Server` in-process
(the command line blocks on it; tests run it in a thread on a free port). Simulations of every session share one
small thread pool, off the server's event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import socket
import threading

from layerwise.errors import LayerwiseError

PANELS = (
    ("feedback", "1. diagonal net / feedback"),
    ("lambda", "2. deep linear, λ-balanced"),
    ("grokking", "3. grokking toy"),
    ("emergence", "4. emergence"),
)
INTRO = ("<b>layerwise explore</b>: every solid line is a closed form of <code>layerwise.theory</code> evaluated as the "
         "sliders move; “simulate” trains the same network with <code>layerwise.engine.train</code> (GD) and "
         "overlays it dashed, with the measured max |theory − simulation|.")


@functools.cache
def simulation_executor() -> concurrent.futures.ThreadPoolExecutor:
    """The worker threads every session's "simulate" runs in (made on first use: importing this module starts
    nothing)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="layerwise-simulate")


def _views():
    from layerwise.explore import emergence_panel, feedback, grokking_panel, lambda_panel

    return {"feedback": feedback.view, "lambda": lambda_panel.view, "grokking": grokking_panel.view,
            "emergence": emergence_panel.view}


def make_document(doc) -> None:
    """Fill a Bokeh document with the four panels (as tabs)."""
    from bokeh.layouts import column
    from bokeh.models import Div, TabPanel, Tabs

    views = _views()
    tabs = Tabs(tabs=[TabPanel(child=views[name](doc, simulation_executor()), title=title) for name, title in PANELS],
                name="panels")
    doc.add_root(column(Div(text=INTRO, width=1200), tabs, name="explorer"))
    doc.title = "layerwise explore"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_free(port: int) -> None:
    """Refuse a port something listens on, before Bokeh binds it (a failed bind inside tornado leaks a socket)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise LayerwiseError(f"port {port} cannot be used ({error.strerror or error}); choose another with "
                                 "--port") from None


def make_server(port: int):
    """A `bokeh.server.server.Server` for the app on ``127.0.0.1:port`` (not started)."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    if not 0 < port < 65536:
        raise LayerwiseError(f"port must be from 1 to 65535, got {port}")
    _check_free(port)
    try:
        return Server({"/": Application(FunctionHandler(make_document))}, port=port, address="127.0.0.1",
                      allow_websocket_origin=[f"127.0.0.1:{port}", f"localhost:{port}"])
    except OSError as error:
        raise LayerwiseError(f"port {port} cannot be used ({error.strerror or error}); choose another with --port") \
            from None


def serve(port: int = 5006, open_browser: bool = True, announce=None) -> None:
    """Run the app until interrupted (the ``layerwise explore`` command); ``announce(url)`` once it listens."""
    server = make_server(port)
    server.start()
    if announce is not None:
        announce(f"http://127.0.0.1:{port}/")
    if open_browser:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        shutdown_workers()


def shutdown_workers() -> None:
    """Drop queued redraws and simulations; running ones finish (a JAX computation cannot be interrupted)."""
    from layerwise.explore.ui import redraw_executor

    for executor in (redraw_executor(), simulation_executor()):
        executor.shutdown(wait=False, cancel_futures=True)


class BackgroundServer:
    """The app on a free port in a daemon thread with its own event loop (for tests and screenshots).

    Example: ``with BackgroundServer() as url: ...`` serves ``url`` inside the block."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="layerwise-explore-server")
        self._server = None

    def _run(self) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        self._server = make_server(self.port)
        self._server.start()
        self._ready.set()
        self._server.io_loop.start()

    def __enter__(self) -> str:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the explore server did not start within 30 s")
        return self.url

    def __exit__(self, *exc) -> None:
        server = self._server
        server.io_loop.add_callback(lambda: (server.stop(), server.io_loop.stop()))
        self._thread.join(10)
