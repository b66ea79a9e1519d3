"""One look for every figure: theory solid, linear-network simulation dashed, nonlinear network dotted."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

MODEL_STYLE = {
    "theory": {"linestyle": "-", "linewidth": 2.2, "alpha": 0.45},
    "linear": {"linestyle": "--", "linewidth": 1.4},
    "nonlinear": {"linestyle": ":", "linewidth": 1.8},
}


def mode_colors(count: int, cmap: str = "tab10") -> list:
    """``count`` distinct colours, the same colour per mode/skill across a figure."""
    colormap = plt.get_cmap(cmap)
    if cmap == "tab10":
        return [colormap(i % 10) for i in range(count)]
    return [colormap(x) for x in np.linspace(0.05, 0.85, count)]
