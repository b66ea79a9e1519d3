"""Experiments: the registered ones, in the report's order (the principle, its exactness, then the phenomena).

The registry is this explicit list; plugins add theirs through ``$LAYERWISE_PLUGINS`` or the
``layerwise.experiments`` entry-point group (`load_plugins`).
"""

from layerwise.experiments import (
    emergence,
    feedback,
    grokking_fig11,
    grokking_modular,
    grokking_toy,
    lazy_rich_digits,
    lazy_rich_fig6,
    neural_collapse,
    theory_check,
)
from layerwise.experiments.base import (
    GROUPS,
    REGISTRY,
    Experiment,
    Outcome,
    expand_names,
    get_experiment,
    load_plugins,
    no_progress,
    register,
    register_group,
)

for _module in (feedback, theory_check, emergence, lazy_rich_fig6, lazy_rich_digits, neural_collapse, grokking_toy,
                grokking_fig11, grokking_modular):
    register(_module.EXPERIMENT)
del _module
register_group("lazy-rich", ("lazy-rich-fig6", "lazy-rich-digits"))
register_group("grokking", ("grokking-toy", "grokking-fig11", "grokking-modular"))

__all__ = ["GROUPS", "REGISTRY", "Experiment", "Outcome", "expand_names", "get_experiment", "load_plugins",
           "no_progress", "register", "register_group"]
