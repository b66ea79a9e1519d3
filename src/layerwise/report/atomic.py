"""Writing a small text file atomically: a hidden staging file beside it, renamed into place."""

from __future__ import annotations

from pathlib import Path

from layerwise import interrupt


def write_text_atomically(target, text: str) -> Path:
    """Write ``text`` to ``target`` through ``.<name>.partial`` renamed into place, so a reader sees the old file or
    the whole new one; after a Ctrl-C (`layerwise.interrupt.stop_writing`) nothing is put in place and the staging
    file is removed. Returns ``target`` as a `Path`."""
    target = Path(target)
    staging = target.with_name(f".{target.name}.partial")
    try:
        staging.write_text(text)
        with interrupt.gate():
            staging.replace(target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target
