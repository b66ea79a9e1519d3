"""The 18 checkable claims drawn from Nam et al. (2025), which checks decide each one, and the verdict on each.

Claim 18 is a result of Kunin et al. (2024) that the paper cites. A claim names the experiment that tests it and its
*deciding checks*: plain names are checks of that experiment, ``"experiment:check"`` names a check of another one
(claim 4's stage gap is tested in the diagonal net and in the emergence MLP).

Evidence. Every deciding check declares its kind in `EVIDENCE`, weakest to strongest (`EVIDENCE_KINDS`):

- ``closed_form``: the theory against exact gradient flow (an ODE solve) or another independent computation of the
  same mathematics (no discrete-time training);
- ``linear_simulation``: a linear model (diagonal, deep linear, UFM, skill basis) trained by GD or SGD;
- ``nonlinear_network``: a nonlinear network (MLP, transformer) trained by the engine.

A claim's evidence is the strongest kind among its deciding checks; its seeds are the fewest seeds among the deciding
checks that ran (each check's ``seeds``; 1 for a deterministic one); its data is the reference data of `SETTINGS` or,
where the experiment records what it used, that (`data_token`), and a substitute is listed among its departures.

Verdicts (`VERDICTS`). Each deciding check has a status: ``passed``, ``failed``, ``unstable``, ``inconclusive``
(`layerwise.report.checks.Check.status`) or ``not_run`` (its experiment did not run, failed its integrity check, or
has no check of that name). With ``n`` deciding checks of which ``k`` passed:

- ``reproduced``: ``k = n >= 1`` (every deciding check passed);
- ``partly_reproduced``: ``0 < k < n`` (some but not all passed; the others failed, were unstable, inconclusive or
  did not run: a missing check is never a pass);
- ``k = 0``: ``not_reproduced`` if any check failed; else ``unstable`` if any was unstable; else ``inconclusive``
  if any was inconclusive; else (none ran, or the claim has no check) ``not_run``.

Example:
    >>> claim = CLAIMS[0]
    >>> summaries = {"feedback": {"quick": True, "checks": [
    ...     {"name": "sigmoid_gd_vs_closed_form", "value": 0.008, "expected": "<= 0.01", "passed": True},
    ...     {"name": "sigmoid_flow_vs_closed_form", "value": 0.5, "expected": "<= 1e-08", "passed": False}]}}
    >>> verdict = judge(claim, summaries)
    >>> verdict.verdict, verdict.evidence, verdict.data, verdict.seeds
    ('partly_reproduced', 'linear_simulation', 'synthetic', 1)
"""

from __future__ import annotations

import dataclasses
import re

CLOSED_FORM, LINEAR_SIMULATION, NONLINEAR_NETWORK = "closed_form", "linear_simulation", "nonlinear_network"
EVIDENCE_KINDS = (CLOSED_FORM, LINEAR_SIMULATION, NONLINEAR_NETWORK)
"""The kinds of evidence, weakest first."""

VERDICTS = ("reproduced", "partly_reproduced", "not_reproduced", "unstable", "inconclusive", "not_run")
"""The verdicts on a claim, in the order the headline counts them."""

NOT_RUN = "not_run"
"""The status of a deciding check that did not run (also the verdict on a claim none of whose checks ran)."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of Nam et al. (2025), decided by named checks (of ``experiment``, or ``"other:check"``)."""

    number: int
    text: str
    experiment: str
    checks: tuple[str, ...]

    def deciding(self) -> list[tuple[str, str]]:
        """``(experiment, check)`` of every deciding check, in order."""
        return [tuple(name.split(":", 1)) if ":" in name else (self.experiment, name) for name in self.checks]

    @property
    def experiments(self) -> list[str]:
        """The experiments whose checks decide this claim (its own first)."""
        return list(dict.fromkeys([self.experiment, *(experiment for experiment, _ in self.deciding())]))


CLAIMS: tuple[Claim, ...] = (
    Claim(1, "Balanced small-init diagonal net: a_i b_i / S_i follows the logistic closed form", "feedback",
          ("sigmoid_gd_vs_closed_form", "sigmoid_flow_vs_closed_form")),
    Claim(2, "Learning time t_1/2 = ln(S/u0 - 1) / (2 S E[x^2])", "feedback",
          ("half_times_vs_theory", "variance_half_times_vs_theory")),
    Claim(3, "Linear model (no hidden layer): theta/S = 1 - exp(-E[x^2] t), rate independent of S, no plateau",
          "feedback", ("linear_model_exponential", "linear_rate_equals_input_variance", "variance_linear_rate",
                       "linear_loss_no_plateau")),
    Claim(4, "Modes are learned in order of S_k E[x_k^2] (stage-like); the stage gap grows like ln(1/u0)", "feedback",
          ("stage_order", "stage_gap_grows_like_log_init", "variance_stage_order",
           "variance_stage_gap_grows_like_log_init", "emergence:mlp_stage_gap_grows_like_log_init")),
    Claim(5, "a_i^2 - b_i^2 is conserved under gradient flow; under GD it drifts O(lr^2) per step", "feedback",
          ("imbalance_conserved_under_flow", "imbalance_drift_order")),
    Claim(6, "Large imbalance C gives exponential (lazy) dynamics at rate |C| E[x^2]; C = 0 is sigmoidal (rich)",
          "feedback", ("lazy_rate", "imbalance_gd_vs_closed_form", "variance_lazy_rate")),
    Claim(7, "Depth L: du/dt = L E[x^2] u^(2-2/L) (S - u); sharper, more step-like transitions for larger L",
          "feedback", ("depth_sharpens_transition", "depth_gd_vs_exact", "variance_depth_gd_vs_exact")),
    Claim(8, "Emergence in time, data and parameters of a 2-layer ReLU net on multitask sparse parity tracks the "
          "layerwise-linear predictions", "emergence",
          ("mlp_stage_order", "mlp_emergence_times_vs_theory", "mlp_stage_gap_grows_like_log_init",
           "mlp_data_emergence_vs_theory", "mlp_parameter_emergence_vs_theory")),
    Claim(9, "Scaling laws L ~ T^(-a/(a+1)), D^(-a/(a+1)), N^(-a) for p_k ~ k^-(a+1)", "emergence",
          ("skill_basis_exponent_time", "skill_basis_exponent_data", "skill_basis_exponent_parameters")),
    Claim(10, "Linear net / UFM with MSE, whitened inputs, small init: features reach rank c and class means form a "
          "simplex ETF; modes learned greedily by singular value", "neural-collapse",
          ("greedy_modes_vs_saxe", "greedy_order", "no_bias_orthogonal_frame_smallest_init",
           "bias_simplex_etf_smallest_init", "feature_sv_rest_not_learned", "centred_sv_rest_not_learned")),
    Claim(11, "gamma_+ = (S + sqrt(Sigma0^2 - S0^2 + S^2)) / (Sigma0 + S0) is the final/initial squared-norm ratio of "
          "the (a+b) components", "grokking-toy",
          ("gamma_plus_matches_simulation", "rescaling_trajectory_matches_theory", "flow_conserves_uv_product")),
    Claim(12, "Sigma0/S >> 1 gives gamma_+ -> 1 (lazy); Sigma0/S << 1 gives gamma_+ ~ 2S/Sigma0 (rich)", "grokking-toy",
          ("flow_gamma_within_next_order_of_limits",)),
    Claim(13, "NTK parameterisation makes Sigma0 ~ sqrt(width), lazy at large width; target down-scaling is "
          "equivalent", "grokking-toy", ("ntk_flow_matches_target_downscaled_flow", "ntk_width_makes_lazy")),
    Claim(14, "Fig. 6a: kernel distance small (<= 1e-4) for |lambda| >~ 2 or large s; largest (~0.1) at small "
          "|lambda| and small s", "lazy-rich-fig6",
          ("fig6a_s1_endpoints_match_numpy_rerun", "fig6a_s1_falls_with_imbalance", "fig6a_falls_with_scale",
           "fig6a_lazy_beyond_lambda_2", "fig6a_rich_region")),
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
class Setting:
    """The reference setting of a claim: its data and the known departures from it.

    Attributes:
        data: the data of the reference setting (``synthetic``, ``mnist``, ``mnist1d``, ``digits``, ``modular-<p>``).
        data_from: where the run records the data it used: ``"data_source"`` (the summary's ``data_source``) or
            ``"modulus"`` (``modular-<config.modulus>``); ``None``: always ``data``.
        departures: departures from the reference setting, in words (a substitute data set is added by `judge`).
    """

    data: str = "synthetic"
    data_from: str | None = None
    departures: tuple[str, ...] = ()


_FIG11 = Setting("mnist", "data_source", ("tanh MLP as in the authors' fig11_run.py; 1,000 training images",))
SETTINGS: dict[int, Setting] = {
    8: Setting(departures=("the skill basis constants N_free, D_c, N_c are fitted per seed to every skill the "
                           "MLP learns, at the run's width and learning rate",)),
    9: Setting(departures=("exponents fitted to the skill-basis model's loss (GD in time, converged strengths in "
                           "data, held-out loss of trained width-N models in parameters), not to a network",)),
    14: Setting(departures=("fig6a_s1_endpoints_match_numpy_rerun compares with an independent numpy re-run of the "
                            "authors' setting, not with numbers read from the paper",)),
    16: _FIG11,
    17: _FIG11,
    18: Setting("modular-97", "modulus", ("a one-layer transformer shrunk to fit 2 cores (no LayerNorm, d_model <= 64, "
                                          "training fraction 0.5, float32; the dataset's attrs['departures'] list "
                                          "the rest), beside an embedding MLP as a second nonlinear model",)),
}
"""Claim number -> its reference `Setting` (claims not listed: synthetic data, no departures declared)."""

EVIDENCE: dict[str, str] = {
    # feedback: GD on diagonal / deep linear nets vs closed forms, and the exact flow
    "sigmoid_gd_vs_closed_form": LINEAR_SIMULATION, "sigmoid_flow_vs_closed_form": CLOSED_FORM,
    "half_times_vs_theory": LINEAR_SIMULATION, "linear_model_exponential": LINEAR_SIMULATION,
    "linear_rate_equals_input_variance": LINEAR_SIMULATION,
    "linear_loss_no_plateau": LINEAR_SIMULATION, "variance_half_times_vs_theory": LINEAR_SIMULATION,
    "variance_stage_order": LINEAR_SIMULATION, "variance_stage_gap_grows_like_log_init": LINEAR_SIMULATION,
    "variance_linear_rate": LINEAR_SIMULATION, "variance_lazy_rate": LINEAR_SIMULATION,
    "variance_depth_gd_vs_exact": LINEAR_SIMULATION, "stage_order": LINEAR_SIMULATION,
    "stage_gap_grows_like_log_init": LINEAR_SIMULATION, "imbalance_conserved_under_flow": CLOSED_FORM,
    "imbalance_drift_order": LINEAR_SIMULATION, "lazy_rate": LINEAR_SIMULATION,
    "imbalance_gd_vs_closed_form": LINEAR_SIMULATION, "imbalance_flow_vs_closed_form": CLOSED_FORM,
    "depth_sharpens_transition": LINEAR_SIMULATION, "depth_gd_vs_exact": LINEAR_SIMULATION,
    # emergence: the ReLU MLP, and the skill-basis model
    "mlp_stage_order": NONLINEAR_NETWORK, "mlp_emergence_times_vs_theory": NONLINEAR_NETWORK,
    "mlp_data_emergence_vs_theory": NONLINEAR_NETWORK, "mlp_parameter_emergence_vs_theory": NONLINEAR_NETWORK,
    "mlp_stage_gap_grows_like_log_init": NONLINEAR_NETWORK, "skill_basis_exponent_time": LINEAR_SIMULATION,
    "skill_basis_exponent_data": CLOSED_FORM, "skill_basis_exponent_parameters": CLOSED_FORM,
    # neural collapse: the UFM under exact flow (greedy modes) and under GD (geometry)
    "greedy_modes_vs_saxe": CLOSED_FORM, "greedy_order": CLOSED_FORM, "feature_sv_rest_not_learned": CLOSED_FORM,
    "centred_sv_rest_not_learned": CLOSED_FORM, "no_bias_orthogonal_frame_smallest_init": LINEAR_SIMULATION,
    "bias_simplex_etf_smallest_init": LINEAR_SIMULATION,
    # grokking toy: exact gradient flow of the toy vs gamma_+
    "gamma_plus_matches_simulation": CLOSED_FORM, "rescaling_trajectory_matches_theory": CLOSED_FORM,
    "flow_conserves_uv_product": CLOSED_FORM, "flow_gamma_within_next_order_of_limits": CLOSED_FORM,
    "ntk_flow_matches_target_downscaled_flow": CLOSED_FORM, "ntk_width_makes_lazy": CLOSED_FORM,
    # lazy-rich Fig. 6: GD on lambda-balanced linear nets
    "fig6a_s1_endpoints_match_numpy_rerun": LINEAR_SIMULATION,
    "fig6a_lazy_beyond_lambda_2": LINEAR_SIMULATION, "fig6a_s1_falls_with_imbalance": LINEAR_SIMULATION,
    "fig6a_falls_with_scale": LINEAR_SIMULATION, "fig6a_rich_region": LINEAR_SIMULATION,
    "fig6b_falls_with_scale": LINEAR_SIMULATION, "fig6b_rich_region": LINEAR_SIMULATION,
    "fig6b_lazy_at_large_ratio": LINEAR_SIMULATION,
    # grokking: nonlinear networks
    "fig11a_memorises_first": NONLINEAR_NETWORK, "fig11a_late_rise": NONLINEAR_NETWORK,
    "fig11b_to_e_no_delay": NONLINEAR_NETWORK, "transformer_balanced_groks": NONLINEAR_NETWORK,
    "transformer_upstream_delay_ratio": NONLINEAR_NETWORK, "modular_upstream_delay_ratio": NONLINEAR_NETWORK,
}
"""Deciding check name -> its kind of evidence (`EVIDENCE_KINDS`); every check a claim names must be here."""


def evidence_of(check: str) -> str:
    """The declared evidence kind of deciding check ``check`` (plain or ``"experiment:check"``)."""
    name = check.split(":", 1)[-1]
    if name not in EVIDENCE:
        raise KeyError(f"deciding check {name!r} declares no evidence kind in layerwise.report.claims.EVIDENCE")
    return EVIDENCE[name]


def strongest(kinds) -> str | None:
    """The strongest of ``kinds`` (`EVIDENCE_KINDS` order), or None when there are none."""
    kinds = list(kinds)
    return max(kinds, key=EVIDENCE_KINDS.index) if kinds else None


_DATA_TOKEN = re.compile(r"synthetic|mnist|mnist1d|digits|modular-\d+")


def data_token(setting: Setting, summary: dict | None) -> str:
    """The data a claim's run used, as a token: ``synthetic``, ``mnist``, ``mnist1d``, ``digits`` or
    ``modular-<p>`` (the reference `Setting.data` when the run records nothing, or did not run)."""
    if summary is None or setting.data_from is None:
        return setting.data
    if setting.data_from == "modulus":
        modulus = summary.get("config", {}).get("modulus")
        return f"modular-{int(modulus)}" if isinstance(modulus, (int, float)) else setting.data
    source = str(summary.get("data_source", "")).split(" (")[0].strip().lower()  # "MNIST (/path)" -> "mnist"
    if _DATA_TOKEN.fullmatch(source):
        return source
    squeezed = source.replace("-", "").replace("_", "").replace(" ", "")
    for token in ("mnist1d", "digits", "mnist"):
        if token in squeezed:
            return token
    return setting.data


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One deciding check of a claim as it came out: ``name`` as the claim names it (``experiment:check`` for another
    experiment's), ``status`` a `Check` status or ``not_run`` (then ``note`` says why)."""

    experiment: str
    name: str
    evidence: str
    status: str
    value: object = None
    expected: object = None
    seeds: int | None = None
    interval: object = None
    note: str = ""


@dataclasses.dataclass(frozen=True)
class ClaimVerdict:
    """The verdict on a claim with the evidence it rests on (see the module docstring for the rules)."""

    claim: Claim
    verdict: str
    reason: str
    evidence: str | None
    data: str
    seeds: int | None
    size: str | None
    departures: tuple[str, ...]
    results: tuple[CheckResult, ...]

    def to_json(self) -> dict:
        """This verdict as an entry of ``claims.json``'s ``claims`` list."""
        return {
            "number": self.claim.number, "claim": self.claim.text, "experiment": self.claim.experiment,
            "verdict": self.verdict, "reason": self.reason, "evidence": self.evidence, "data": self.data,
            "seeds": self.seeds, "size": self.size, "departures": list(self.departures),
            "checks": list(self.claim.checks),
            "check_results": [dataclasses.asdict(result) for result in self.results],
        }


def _status(check: dict) -> str:
    status = check.get("status") or ("passed" if check.get("passed") else "failed")
    if status == "passed" and not check.get("passed"):
        return "failed"  # a contradictory entry is not a pass
    return status if status in ("passed", "failed", "unstable", "inconclusive") else "failed"


def _result(experiment: str, name: str, label: str, summaries: dict, problems: dict) -> CheckResult:
    evidence = evidence_of(name)
    if experiment in problems:
        return CheckResult(experiment, label, evidence, NOT_RUN, note=f"{experiment} failed its integrity check")
    summary = summaries.get(experiment)
    if summary is None:
        return CheckResult(experiment, label, evidence, NOT_RUN, note=f"experiment {experiment!r} was not run")
    check = next((c for c in summary.get("checks", []) if c.get("name") == name), None)
    if check is None:
        return CheckResult(experiment, label, evidence, NOT_RUN, note=f"{experiment} has no check {name}")
    seeds = check.get("seeds", 1)
    return CheckResult(experiment, label, evidence, _status(check), check.get("value"), check.get("expected"),
                       int(seeds) if isinstance(seeds, (int, float)) else 1, check.get("interval"))


def verdict_of(statuses) -> str:
    """The verdict from the statuses of a claim's deciding checks (the rules of the module docstring).

    >>> verdict_of(["passed", "passed"]), verdict_of(["passed", "not_run"]), verdict_of(["failed", "unstable"])
    ('reproduced', 'partly_reproduced', 'not_reproduced')
    >>> verdict_of(["unstable", "inconclusive"]), verdict_of(["inconclusive", "not_run"]), verdict_of([])
    ('unstable', 'inconclusive', 'not_run')
    """
    statuses = list(statuses)
    passed = statuses.count("passed")
    if statuses and passed == len(statuses):
        return "reproduced"
    if passed:
        return "partly_reproduced"
    for status, verdict in (("failed", "not_reproduced"), ("unstable", "unstable"),
                            ("inconclusive", "inconclusive")):
        if status in statuses:
            return verdict
    return NOT_RUN


def _reason(verdict: str, results) -> str:
    if not results:
        return "no check of this claim is implemented yet"
    if verdict == "reproduced":
        return f"{len(results)} check(s) passed"
    parts = {}
    for result in results:
        if result.status != "passed":
            parts.setdefault(result.status, []).append(result.name)
    notes = sorted({result.note for result in results if result.note})
    text = "; ".join(f"{status.replace('_', ' ')}: {', '.join(names)}" for status, names in parts.items())
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _size(claim: Claim, summaries: dict) -> str | None:
    sizes = {("quick" if summaries[e].get("quick") else "full") for e in claim.experiments if e in summaries}
    return sizes.pop() if len(sizes) == 1 else ("mixed" if sizes else None)


def judge(claim: Claim, summaries: dict[str, dict], problems: dict[str, str] | None = None) -> ClaimVerdict:
    """The verdict on ``claim`` from the finished experiments' summaries (name -> ``summary.json`` as a dict);
    experiments in ``problems`` (name -> what is wrong) failed their integrity check and count as not run."""
    problems = problems or {}
    results = tuple(_result(experiment, name, label, summaries, problems)
                    for (experiment, name), label in zip(claim.deciding(), claim.checks))
    verdict = verdict_of(result.status for result in results)
    ran = [result.seeds for result in results if result.status != NOT_RUN and result.seeds is not None]
    setting = SETTINGS.get(claim.number, Setting())
    own = summaries.get(claim.experiment) if claim.experiment not in problems else None
    data = data_token(setting, own)
    departures = setting.departures
    if data != setting.data:
        departures = (f"data: {data} instead of {setting.data}", *departures)
    return ClaimVerdict(claim, verdict, _reason(verdict, results), strongest(r.evidence for r in results), data,
                        min(ran) if ran else None, _size(claim, summaries), departures, results)


def judge_all(summaries: dict[str, dict], problems: dict[str, str] | None = None) -> list[ClaimVerdict]:
    """The verdict on every claim of `CLAIMS`."""
    return [judge(claim, summaries, problems) for claim in CLAIMS]


def verdict_counts(verdicts) -> dict[str, dict[str, int]]:
    """Evidence kind -> verdict -> number of claims (kinds strongest first; zero counts left out)."""
    counts: dict[str, dict[str, int]] = {}
    for kind in reversed(EVIDENCE_KINDS):
        found = [v.verdict for v in verdicts if v.evidence == kind]
        if found:
            counts[kind] = {verdict: found.count(verdict) for verdict in VERDICTS if verdict in found}
    return counts


def headline(verdicts, size: str | None = None) -> str:
    """One sentence counting the verdicts per evidence kind, e.g. ``"nonlinear network (4 claims): 1 reproduced,
    3 not reproduced; linear simulation (11 claims): 11 reproduced; ... (quick size)"``."""
    parts = []
    for kind, counts in verdict_counts(verdicts).items():
        total = sum(counts.values())
        listed = ", ".join(f"{n} {verdict.replace('_', ' ')}" for verdict, n in counts.items())
        parts.append(f"{kind.replace('_', ' ')} ({total} claim{'s' if total != 1 else ''}): {listed}")
    return "; ".join(parts) + (f" ({size} size)" if size else "")


def claim_checks(experiment: str) -> set[str]:
    """Names of the checks of ``experiment`` that decide some claim (each must exist in its summary.json)."""
    return {name for claim in CLAIMS for owner, name in claim.deciding() if owner == experiment}
