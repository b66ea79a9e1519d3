"""The 18 checkable claims drawn from Nam et al. (2025) and which experiment checks decide each one.

Claim 18 is a result of Kunin et al. (2024) that the paper cites.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of Nam et al. (2025), decided by named checks of one experiment (all must pass)."""

    number: int
    text: str
    experiment: str
    checks: tuple[str, ...]


CLAIMS: tuple[Claim, ...] = (
    Claim(1, "Balanced small-init diagonal net: a_i b_i / S_i follows the logistic closed form", "feedback",
          ("sigmoid_gd_vs_closed_form", "sigmoid_flow_vs_closed_form")),
    Claim(2, "Learning time t_1/2 = ln(S/u0 - 1) / (2 S E[x^2])", "feedback", ("half_times_vs_theory",)),
    Claim(3, "Linear model (no hidden layer): theta/S = 1 - exp(-E[x^2] t), rate independent of S, no plateau",
          "feedback", ("linear_model_exponential", "linear_rate_independent_of_target")),
    Claim(4, "Modes are learned in order of S_k E[x_k^2] (stage-like); the stage gap grows like ln(1/u0)", "feedback",
          ("stage_order", "stage_gap_grows_like_log_init")),
    Claim(5, "a_i^2 - b_i^2 is conserved under gradient flow; under GD it drifts O(lr^2) per step", "feedback",
          ("imbalance_conserved_under_flow", "imbalance_drift_order")),
    Claim(6, "Large imbalance C gives exponential (lazy) dynamics at rate |C| E[x^2]; C = 0 is sigmoidal (rich)",
          "feedback", ("lazy_rate", "imbalance_gd_vs_closed_form")),
    Claim(7, "Depth L: du/dt = L E[x^2] u^(2-2/L) (S - u); sharper, more step-like transitions for larger L",
          "feedback", ("depth_sharpens_transition", "depth_gd_vs_exact")),
    Claim(8, "Emergence in time, data and parameters of a 2-layer ReLU net on multitask sparse parity tracks the "
          "layerwise-linear predictions", "emergence",
          ("mlp_stage_order", "mlp_emergence_times_vs_theory", "mlp_data_emergence_vs_theory",
           "mlp_parameter_emergence_vs_theory")),
    Claim(9, "Scaling laws L ~ T^(-a/(a+1)), D^(-a/(a+1)), N^(-a) for p_k ~ k^-(a+1)", "emergence",
          ("skill_basis_exponent_time", "skill_basis_exponent_data", "skill_basis_exponent_parameters")),
    Claim(10, "Linear net / UFM with MSE, whitened inputs, small init: features reach rank c and class means form a "
          "simplex ETF; modes learned greedily by singular value", "neural-collapse",
          ("greedy_modes_vs_saxe", "greedy_order", "no_bias_orthogonal_frame_smallest_init",
           "bias_simplex_etf_smallest_init", "feature_sv_rest_not_learned", "centred_sv_rest_not_learned")),
    Claim(11, "gamma_+ = (S + sqrt(Sigma0^2 - S0^2 + S^2)) / (Sigma0 + S0) is the final/initial squared-norm ratio of "
          "the (a+b) components", "grokking-toy",
          ("gamma_plus_matches_simulation", "rescaling_trajectory_matches_theory", "v_shrinks_by_the_same_factor")),
    Claim(12, "Sigma0/S >> 1 gives gamma_+ -> 1 (lazy); Sigma0/S << 1 gives gamma_+ ~ 2S/Sigma0 (rich)", "grokking-toy",
          ("lazy_and_rich_limits",)),
    Claim(13, "NTK parameterisation makes Sigma0 ~ sqrt(width), lazy at large width; target down-scaling is "
          "equivalent", "grokking-toy", ("ntk_equals_target_downscaling", "ntk_width_makes_lazy")),
    Claim(14, "Fig. 6a: kernel distance small (<= 1e-4) for |lambda| >~ 2 or large s; largest (~0.1) at small "
          "|lambda| and small s", "lazy-rich-fig6",
          ("fig6a_s1_endpoints_match_paper", "fig6a_s1_falls_with_imbalance", "fig6a_falls_with_scale",
           "fig6a_rich_region")),
    Claim(15, "Fig. 6b: with zero-output init the NTK moves only for small target divisor s and small |sigma1 - "
          "sigma2|", "lazy-rich-fig6",
          ("fig6b_falls_with_scale", "fig6b_rich_region", "fig6b_lazy_at_large_ratio")),
    Claim(16, "Fig. 11a: tanh MLP, weight scale 5, target 3: train accuracy saturates early, test accuracy much "
          "later (grokking)", "grokking-fig11", ("fig11a_memorises_first", "fig11a_late_rise")),
    Claim(17, "Fig. 11b-e: weight scale 1, target 30, input 0.01 or output 0.1 remove the generalisation delay",
          "grokking-fig11", ("fig11b_to_e_no_delay",)),
    Claim(18, "Upstream initialisation (the first layer learns faster: readout large relative to embeddings, "
          "delta > 0) accelerates grokking on modular arithmetic (Kunin et al. 2024)", "grokking-modular",
          ("transformer_balanced_groks", "transformer_upstream_delay_ratio", "modular_upstream_delay_ratio")),
)


@dataclasses.dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str  # "reproduced", "not reproduced" or "not applicable"
    reason: str
    values: list


def judge(claim: Claim, checks_by_experiment: dict[str, dict[str, dict]]) -> Verdict:
    """The verdict on ``claim`` from the finished experiments' checks (name -> check dict from summary.json)."""
    if not claim.checks:
        return Verdict(claim, "not applicable", "no check of this claim is implemented yet", [])
    checks = checks_by_experiment.get(claim.experiment)
    if checks is None:
        return Verdict(claim, "not applicable", f"experiment {claim.experiment!r} was not run", [])
    missing = [name for name in claim.checks if name not in checks]
    if missing:
        return Verdict(claim, "not applicable", f"{claim.experiment} has no check {', '.join(missing)}", [])
    found = [checks[name] for name in claim.checks]
    values = [(c["name"], c["value"], c["expected"]) for c in found]
    failed = [c["name"] for c in found if not c["passed"]]
    if failed:
        return Verdict(claim, "not reproduced", f"failed: {', '.join(failed)}", values)
    return Verdict(claim, "reproduced", f"{len(found)} check(s) passed", values)


def claim_checks(experiment: str) -> set[str]:
    """Names of the checks of ``experiment`` that decide some claim (each must exist in its summary.json)."""
    return {name for claim in CLAIMS if claim.experiment == experiment for name in claim.checks}
