r"""The verdicts of `layerwise.solve`: checks that can fail, comparing the prediction with the simulations.

* Learning order: the half-times of the near-degenerate groups (modes whose singular values differ by at most
  10 % form one group) must increase as the singular values decrease. Only pairs of groups are compared, never two
  modes of one group; a group that never reaches half its strength counts as later than any that does.
* Half-times: ``t_measured / t_predicted`` per mode (linear net: the prediction decouples the modes) or per group
  (compared networks) within a stated window: ``max(2 %, eta s_0)`` for the exact laws (twice the expected GD
  lag ``eta s_0 / 2``), 25 % for ``saxe_approximate``, a factor 2 for nonlinear networks (the same order). Only
  modes predicted to reach half strength within the run are compared; with an optimiser other than GD only the
  order is checked.
"""

from __future__ import annotations

import numpy as np

from layerwise.report.checks import Check

COMPARED_WINDOW = 2.0
APPROXIMATE_WINDOW = 0.25
KERNEL_DISTANCE_ATOL = 0.02


def exact_window(learning_rate: float, s0: float) -> float:
    r"""The half-time window of an exact law: ``max(0.02, eta s_0)``."""
    return max(0.02, learning_rate * s0)


def order_violations(half_times) -> tuple[int, int]:
    r"""``(pairs out of order, pairs compared)`` for group half-times (g,) ordered by decreasing singular value:
    a pair ``i < j`` is out of order when ``t_i > t_j``, or ``t_i`` is NaN (never) and ``t_j`` finite. Pairs where
    neither group crossed are not compared."""
    t = np.asarray(half_times, np.float64)
    bad = compared = 0
    for i in range(t.size):
        for j in range(i + 1, t.size):
            if np.isnan(t[i]) and np.isnan(t[j]):
                continue
            compared += 1
            bad += bool(np.isnan(t[i]) or (np.isfinite(t[j]) and t[i] > t[j]))
    return bad, compared


def learning_order_check(network: str, group_half_times, singular_values) -> Check:
    """Check: the groups' measured half-times follow the singular-value order (0 pairs out of order)."""
    bad, compared = order_violations(group_half_times)
    groups = len(np.atleast_1d(group_half_times))
    claim = (f"{network}: modes are learned in the order of their singular values (half-times of the {groups} "
             f"near-degenerate groups, s within 10 % grouped together, increase as s decreases; {compared} pairs "
             "compared)")
    if groups == 1:
        return Check(f"learning_order_{network}", claim + "; one group only, nothing to order", 0, 0, True)
    if compared == 0:
        return Check(f"learning_order_{network}", claim + "; no group reached half its strength, so nothing was "
                     "compared (NaN fails)", float("nan"), 0, False)
    return Check(f"learning_order_{network}", claim, bad, 0, bad == 0)


def half_time_check(network: str, measured, predicted, within_run, window: float, *, kind: str = "relative",
                    unit: str = "mode") -> Check:
    r"""Check: ``t_measured / t_predicted`` within ``window`` for every mode/group predicted within the run.

    ``kind="relative"``: ``|ratio - 1| <= window``; ``kind="factor"``: ``1/window <= ratio <= window``. The value
    is the worst deviation (``|ratio - 1|`` or ``max(ratio, 1/ratio)``); a mode never crossed counts as infinite.
    """
    measured, predicted = np.asarray(measured, float), np.asarray(predicted, float)
    use = np.asarray(within_run, bool) & np.isfinite(predicted) & (predicted > 0)
    ratio = np.where(use, np.where(np.isfinite(measured), measured, np.inf) / np.where(use, predicted, 1.0), np.nan)
    if kind == "relative":
        value = float(np.max(np.abs(ratio[use] - 1))) if use.any() else float("nan")
        expected, passed = f"<= {window:g}", bool(value <= window)
        bound = f"within {window:.3g} relative"
    else:
        value = float(np.max(np.maximum(ratio[use], 1 / ratio[use]))) if use.any() else float("nan")
        expected, passed = f"<= {window:g}", bool(value <= window)
        bound = f"within a factor {window:g}"
    claim = (f"{network}: measured / predicted half-time of each {unit} predicted to reach half strength within the "
             f"run ({int(use.sum())} {unit}s) is {bound}")
    return Check(f"half_time_{network}", claim, value, expected, passed)


def kernel_distance_check(measured, predicted) -> Check:
    r"""Check: the linear net's kernel distance ``S(K_0, K_t)`` follows the λ-balanced closed form to 0.02
    (absolute, max over time and seeds)."""
    difference = np.abs(np.asarray(measured, float) - np.asarray(predicted, float))
    value = float(np.nanmax(difference)) if np.isfinite(difference).any() else float("nan")
    return Check("kernel_distance_linear", "linear net: the NTK's kernel distance S(K_0, K_t) follows the λ-balanced "
                 f"closed form within {KERNEL_DISTANCE_ATOL:g} (absolute, max over time)", value,
                 f"<= {KERNEL_DISTANCE_ATOL:g}", bool(value <= KERNEL_DISTANCE_ATOL))


def flow_check(linear, flow, within_run, window: float) -> Check:
    r"""Check: the GD linear net's half-times match the exact gradient flow of the same network (random init)
    within ``window`` (relative), per mode."""
    check = half_time_check("linear", linear, flow, within_run, window)
    return Check("linear_vs_flow", check.claim.replace("predicted half-time", "exact-flow half-time"), check.value,
                 check.expected, check.passed)
