"""Closed form vs adaptive ODE at equal accuracy: `theory.lambda_balanced_solution` vs `train.gradient_flow`.

Two workloads on a two-layer linear net with d = h = m = 20 (whitened input, unaligned λ-balanced inits):

1. one 1,000-point trajectory (W1(t), W2(t) on t in [0, T]);
2. a sweep of 1,024 λ-balanced inits (32 λ x 32 scales) on a coarser grid, the closed form vmapped over inits, the
   ODE vmapped over runs by the engine.

"Equal accuracy": the ODE (diffrax Dopri8, adaptive) runs at the loosest rtol in ``--rtols`` whose largest relative
error (Frobenius, per time) against a tight reference ODE (rtol 1e-14) is <= ``--target``; the closed form's own error
against the same reference is printed. Two closed forms are timed, as `lambda_balanced_solution` offers both:

* ``symmetric``: the pure closed form (exact W2 W1, W1^T W1, W2 W2^T, NTK, loss; the hidden layer in the gauge
  M = A^{-1/2}, which differs from the flow's weights by a rotation), compared on the end-to-end map W2 W1;
* ``gradient_flow``: the flow's own weights (the hidden-basis rotation is integrated with diffrax), compared on W1, W2.

Times exclude compilation (one warm-up call per shape and tolerance) and are the best of ``--repeats``, after
``block_until_ready``; the candidates of a workload are timed round-robin (A, B, C, A, B, C, ...) so that a shared
machine's load affects them alike and the printed ratios come from one run. The ODE is timed through the public
`gradient_flow` (it returns an xarray Dataset: a few ms of bookkeeping are included). ``--previous REV`` also times
`lambda_balanced_solution` as it was at git revision REV (loaded from ``git show``) in the same run, for
before/after ratios. Run by hand:

    python benchmarks/closed_form_vs_ode.py
    python benchmarks/closed_form_vs_ode.py --previous b8fdb2d
    python benchmarks/closed_form_vs_ode.py --sweep-points 21 --repeats 5
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import time


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20, help="d = h = m")
    parser.add_argument("--points", type=int, default=1000, help="save times of the single trajectory")
    parser.add_argument("--horizon", type=float, default=20.0, help="T (every mode is learned well before)")
    parser.add_argument("--lam", type=float, default=0.5, help="λ of the single trajectory")
    parser.add_argument("--scale", type=float, default=0.05, help="init singular values of the single trajectory")
    parser.add_argument("--sweep", type=int, default=32, help="the sweep is SWEEP λ values x SWEEP scales")
    parser.add_argument("--sweep-points", type=int, default=11, help="save times of each sweep trajectory")
    parser.add_argument("--target", type=float, default=1e-8, help="accuracy both methods must reach")
    parser.add_argument("--rtols", type=float, nargs="+", default=[1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tracked-subset", type=int, default=0,
                        help="time the gradient_flow-basis closed form on this many of the sweep's inits only (the "
                             "time is scaled to the whole sweep); 0: all of them")
    parser.add_argument("--previous", default=None, metavar="REV",
                        help="also time lambda_balanced_solution as of this git revision (same run, same inputs)")
    parser.add_argument("--previous-subset", type=int, default=64,
                        help="the previous revision's gradient_flow basis is timed on this many sweep inits and "
                             "scaled (it cost ~0.2 s per init); 0 skips it")
    return parser.parse_args()


def previous_solution(revision):
    """`lambda_balanced_solution` from ``src/layerwise/theory/lambda_balanced.py`` at a git revision."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = subprocess.check_output(["git", "show", f"{revision}:src/layerwise/theory/lambda_balanced.py"], cwd=root)
    spec = importlib.util.spec_from_loader(f"lambda_balanced_at_{revision}", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{revision}:lambda_balanced.py", "exec"), module.__dict__)
    return module.lambda_balanced_solution


def interleaved(functions, repeats):
    """Best wall time of each function (compiled and warmed up first), timed round-robin: {name: seconds}."""
    import jax

    for fn in functions.values():
        jax.block_until_ready(fn())
    samples = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            samples[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in samples.items()}


def main() -> None:
    args = parse()
    import jax
    import jax.numpy as jnp
    import numpy as np

    import layerwise as lw
    from layerwise import data, init, theory
    from layerwise.compare import compare
    from layerwise.models import DeepLinearNetwork

    lw.enable_x64()

    def rel_error(theory_values, reference, times):
        """Largest relative Frobenius error over runs and times; arrays (R, T, a, b)."""
        theory_values, reference = np.asarray(theory_values), np.asarray(reference)
        return max(compare(t, r, rtol=args.target, times=times, norm_dims=("dim_1", "dim_2")).max_rel_error
                   for t, r in zip(theory_values, reference))

    def product(w1, w2):
        return np.asarray(w2) @ np.asarray(w1)

    d = args.size
    model = DeepLinearNetwork((d, d, d))
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    s = jnp.linspace(2.5, 0.5, d)  # singular values of Sigma_yx, random singular vectors
    sigma = (data.random_orthogonal(keys[0], d) * s) @ data.random_orthogonal(keys[1], d).T
    task = data.Task.from_statistics(jnp.eye(d), sigma, jnp.sum(sigma**2))
    layers = {"W1": lambda m, p, t: p[0], "W2": lambda m, p, t: p[1]}

    def ode(params, times, rtol):
        history = lw.gradient_flow(model, params, task, times, observables=layers, rtol=rtol, atol=1e-4 * rtol,
                                   max_steps=1_000_000).history
        return history["W1"].values, history["W2"].values, int(history.solver_steps.max())

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
          f"{jax.devices()}; load average at start {os.getloadavg()[0]:.2f} (shared machine: timings are noisy)")
    print(f"jax {jax.__version__}, float64; net d = h = m = {d}, Sigma_yx singular values 2.5..0.5, "
          f"target max relative error {args.target:g}\n")

    solutions = {"": theory.lambda_balanced_solution}
    if args.previous:
        solutions[f"@{args.previous}"] = previous_solution(args.previous)
    bases = ("symmetric", "gradient_flow")

    def closed_error(w1, w2, ref_w1, ref_w2, basis, times):
        if basis == "symmetric":  # gauge-invariant: the end-to-end map
            return rel_error(product(w1, w2), product(ref_w1, ref_w2), times)
        return max(rel_error(w1, ref_w1, times), rel_error(w2, ref_w2, times))

    def matching(ode_rows, basis):
        """(rtol, seconds, error) of the loosest ODE tolerance meeting the target on the basis' measure."""
        column = 1 if basis == "symmetric" else 2
        fitting = [row for row in ode_rows if row[column] <= args.target]
        return (fitting[0][0], fitting[0][3], fitting[0][column]) if fitting else (float("nan"),) * 3

    table = []
    # ---------------------------------------------------------------- 1. one 1,000-point trajectory
    times = np.linspace(0.0, args.horizon, args.points)
    w1_0, w2_0 = init.lambda_balanced_init(keys[2], model, args.scale, imbalance=args.lam)
    params = (w1_0[None], w2_0[None])
    ref_w1, ref_w2, ref_steps = ode(params, times, 1e-14)
    print(f"1. one trajectory: {args.points} save times on [0, {args.horizon:g}], λ = {args.lam:g}, init singular "
          f"values {args.scale:g}; reference: Dopri8 rtol 1e-14 ({ref_steps} steps)")
    closed, errors = {}, {}
    for version, solution in solutions.items():
        for basis in bases:
            fn = jax.jit(lambda a, b, basis=basis, solution=solution: solution(times, a, b, sigma,
                                                                                hidden_basis=basis))
            w1, w2 = fn(w1_0, w2_0)
            errors[basis + version] = closed_error(np.asarray(w1)[None], np.asarray(w2)[None], ref_w1, ref_w2, basis,
                                                   times)
            closed[basis + version] = lambda fn=fn: fn(w1_0, w2_0)
    ode_errors = []
    for rtol in args.rtols:
        w1, w2, steps = ode(params, times, rtol)
        ode_errors.append((rtol, rel_error(product(w1, w2), product(ref_w1, ref_w2), times),
                           max(rel_error(w1, ref_w1, times), rel_error(w2, ref_w2, times)), steps))
    seconds = interleaved(closed | {f"ode{rtol:g}": lambda rtol=rtol: ode(params, times, rtol)
                                    for rtol in args.rtols}, args.repeats)
    print(f"   {'rtol':>7} {'steps':>6} {'err W2W1':>9} {'err W1,W2':>9} {'time (ms)':>9}")
    ode_rows = []
    for rtol, e_function, e_weights, steps in ode_errors:
        ode_rows.append((rtol, e_function, e_weights, seconds[f"ode{rtol:g}"]))
        print(f"   {rtol:>7.0e} {steps:>6} {e_function:>9.1e} {e_weights:>9.1e} {1e3 * ode_rows[-1][3]:>9.2f}")
    for name in closed:
        basis = name.split("@")[0]
        table.append((f"trajectory ({args.points} pts)", name, seconds[name], errors[name], *matching(ode_rows, basis)))
    sys.stdout.flush()

    # ---------------------------------------------------------------- 2. a sweep of 1,024 λ-balanced inits
    n = args.sweep
    lams = np.repeat(np.linspace(-2.0, 2.0, n), n)
    scales = np.tile(np.geomspace(0.01, 1.0, n), n)
    runs = lams.size
    sweep_times = np.linspace(0.0, args.horizon, args.sweep_points)
    sweep = jax.vmap(lambda k, lam, sc: init.lambda_balanced_init(k, model, sc, imbalance=lam))(
        jax.random.split(keys[3], runs), jnp.asarray(lams), jnp.asarray(scales))
    print(f"\n2. sweep: {runs} λ-balanced inits (λ in [-2, 2] x init singular values in [0.01, 1]), "
          f"{args.sweep_points} save times on [0, {args.horizon:g}]")
    start = time.perf_counter()
    ref_w1, ref_w2, ref_steps = ode(sweep, sweep_times, 1e-14)
    print(f"   reference: Dopri8 rtol 1e-14, {ref_steps} steps (slowest run), {time.perf_counter() - start:.1f} s")
    closed, errors, scale = {}, {}, {}
    for version, solution in solutions.items():
        for basis in bases:
            count = args.previous_subset if version else (args.tracked_subset if basis == "gradient_flow" else 0)
            if version and basis == "gradient_flow" and count == 0:
                continue
            # an evenly spread subset of the sweep where asked for, its time scaled to the whole sweep
            subset = np.linspace(0, runs - 1, min(runs, count)).astype(int) if count else np.arange(runs)
            inits = (sweep[0][subset], sweep[1][subset])
            vectorised = jax.jit(jax.vmap(lambda a, b, basis=basis, solution=solution: solution(
                sweep_times, a, b, sigma, hidden_basis=basis)))
            w1, w2 = vectorised(*inits)
            name = basis + version
            if not version:  # vmap support: the vectorised sweep equals one call per init (8 inits across it)
                picks = np.linspace(0, subset.size - 1, 8).astype(int)
                loop = [solution(sweep_times, inits[0][i], inits[1][i], sigma, hidden_basis=basis) for i in picks]
                gap = max(float(np.max(np.abs(np.asarray(w1)[i] - np.asarray(a)))) for i, (a, _) in zip(picks, loop))
                print(f"   closed form ({basis}) vmapped over {subset.size} inits: finite "
                      f"{bool(np.all(np.isfinite(w1)))}, vmap vs per-init calls max |diff| {gap:.1e}")
            errors[name] = closed_error(w1, w2, ref_w1[subset], ref_w2[subset], basis, sweep_times)
            closed[name] = lambda fn=vectorised, inits=inits: fn(*inits)
            scale[name] = runs / subset.size
    ode_errors = []
    for rtol in args.rtols:
        w1, w2, steps = ode(sweep, sweep_times, rtol)
        ode_errors.append((rtol, rel_error(product(w1, w2), product(ref_w1, ref_w2), sweep_times),
                           max(rel_error(w1, ref_w1, sweep_times), rel_error(w2, ref_w2, sweep_times)), steps))
        if ode_errors[-1][1] <= args.target and ode_errors[-1][2] <= args.target:
            break
    # time only the tolerances that decide the comparison (the loosest meeting the target for each measure)
    deciding = {next(row[0] for row in ode_errors if row[c] <= args.target)
                for c in (1, 2) if any(row[c] <= args.target for row in ode_errors)}
    seconds = interleaved(closed | {f"ode{rtol:g}": lambda rtol=rtol: ode(sweep, sweep_times, rtol)
                                    for rtol in sorted(deciding)}, max(1, args.repeats // 2))
    print(f"   {'rtol':>7} {'steps':>6} {'err W2W1':>9} {'err W1,W2':>9} {'time (s)':>9}")
    ode_rows = []
    for rtol, e_function, e_weights, steps in ode_errors:
        ode_rows.append((rtol, e_function, e_weights, seconds.get(f"ode{rtol:g}", float("nan"))))
        print(f"   {rtol:>7.0e} {steps:>6} {e_function:>9.1e} {e_weights:>9.1e} {ode_rows[-1][3]:>9.3f}")
    for name in closed:
        basis = name.split("@")[0]
        note = f" (x{scale[name]:g})" if scale[name] != 1 else ""
        table.append((f"sweep ({runs} inits){note}", name, seconds[name] * scale[name], errors[name],
                      *matching(ode_rows, basis)))

    print(f"\n{'workload':<26} {'closed form':<22} {'time':>10} {'error':>8} | {'ODE rtol':>8} {'time':>10} "
          f"{'error':>8} | {'speed-up':>9}")
    for workload, name, seconds_, error, rtol, ode_seconds, ode_error in table:
        print(f"{workload:<26} {name:<22} {_ms(seconds_):>10} {error:>8.1e} | {rtol:>8.0e} {_ms(ode_seconds):>10} "
              f"{ode_error:>8.1e} | {ode_seconds / seconds_:>8.3g}x")
    print("(speed-up = ODE time / closed-form time, both measured in this run; x16: timed on a subset, scaled)")
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


def _ms(seconds: float) -> str:
    return f"{1e3 * seconds:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"


if __name__ == "__main__":
    main()
