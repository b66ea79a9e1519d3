"""What every explorer panel shares: curve bundles, input parsing and the theory-vs-simulation gap."""

from __future__ import annotations

import dataclasses

import numpy as np

from layerwise.errors import LayerwiseError

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclasses.dataclass(frozen=True)
class Curves:
    """Lines to draw: ``xs[i]`` against ``ys[i]`` labelled ``labels[i]``; ``note`` says how they were obtained."""

    xs: list[np.ndarray]
    ys: list[np.ndarray]
    labels: list[str]
    note: str = ""

    def source_data(self) -> dict[str, list]:
        """The columns of a Bokeh ``multi_line`` data source (one colour per line, cycling)."""
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(self.xs))]
        return {"xs": list(self.xs), "ys": list(self.ys), "label": list(self.labels), "color": colors}


def parse_floats(field: str, text: str, *, minimum_count: int = 1, positive: bool = False) -> np.ndarray:
    """Comma-separated numbers typed into a text box; a `LayerwiseError` naming ``field`` if they are not."""
    try:
        values = np.array([float(part) for part in text.replace(";", ",").split(",") if part.strip()])
    except ValueError:
        raise LayerwiseError(f"{field} must be comma-separated numbers, got {text!r}") from None
    if values.size < minimum_count or not np.all(np.isfinite(values)):
        raise LayerwiseError(f"{field} must be at least {minimum_count} finite number(s), got {text!r}")
    if positive and np.any(values <= 0):
        raise LayerwiseError(f"{field} must all be > 0, got {text!r}")
    return values


def parse_float(field: str, text: str) -> float:
    """One number typed into a text box."""
    values = parse_floats(field, text)
    if values.size != 1:
        raise LayerwiseError(f"{field} must be one number, got {text!r}")
    return float(values[0])


def max_gap(theory: np.ndarray, simulation: np.ndarray) -> float:
    """``max |theory - simulation|`` over every recorded value (the number printed beside a simulation)."""
    return float(np.max(np.abs(np.asarray(theory) - np.asarray(simulation))))
