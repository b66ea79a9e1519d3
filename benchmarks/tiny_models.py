"""Tiny models, many runs (issue #13 §1): the engine's generic path vs its fast path (`layerwise.engine.fast_path`).

Workloads (float64, full-batch GD from sufficient statistics, each path through the ONE engine, ``train``):

  a. the Fig. 6a grid of ``lazy_rich_fig6``: 1,600 runs of a 2-2-2 deep linear net (λ-balanced inits over
     λ ∈ linspace(-9, 9, 40) × s ∈ linspace(1, 20, 40), whitened data, targets Y/s, one task per run), 4,000 GD steps
     at lr 0.01, both layers recorded at 40 log-spaced steps (the experiment's call);
  b. a 32 × 32 × 8 grid (init scale × learning rate × seed) of diagonal nets with 8 modes, depth 2, 3 and 4 (one
     call per depth), on a population diagonal task;
  c. the same at 200 × 200 × 8 cells (320,000 runs per depth).

For each: seconds of the first call (cold: tracing and compilation included) and the best of ``--repeats`` later
calls (warm; the paths interleaved), run·steps/s, the fast/generic ratio measured in this run, and the fraction of this machine's limits:
FLOPs per run·step (XLA's cost analysis of one run's generic step) and bytes per run·step (reading and
writing the params once) times run·steps/s, against the float64
peak (the best of a 1024^3 matmul and a fused multiply-add chain) and the memory bandwidth (summing 256 MB), both
measured here. Run by hand:

    python benchmarks/tiny_models.py                       # all three workloads
    python benchmarks/tiny_models.py --only a b --repeats 5
    python benchmarks/tiny_models.py --grid-steps 200 --large-steps 50   # shorter runs of b and c
"""

from __future__ import annotations

import argparse
import sys
import time


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=["a", "b", "c"], default=["a", "b", "c"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--grid-steps", type=int, default=1000, help="GD steps of workload b")
    parser.add_argument("--large-steps", type=int, default=100, help="GD steps of workload c")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per cell of workloads b and c")
    return parser.parse_args()


def machine_limits(jax, jnp, np):
    """(float64 FLOP/s, bytes/s) measured here: best of a matmul and a fused FMA chain; a streaming add."""
    def best(fn, repeats=5):
        fn()
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return min(samples)

    a = jnp.ones((1024, 1024))
    matmul = jax.jit(lambda x: x @ x)
    matmul_rate = 2 * 1024**3 / best(lambda: matmul(a).block_until_ready())
    x = jnp.linspace(0.0, 1.0, 1 << 16)

    @jax.jit
    def chain(v):
        for _ in range(64):
            v = v * 0.999 + 1e-3
        return v

    fma_rate = 2 * 64 * x.size / best(lambda: chain(x).block_until_ready())
    big = jnp.ones(1 << 25)
    stream = jax.jit(jnp.sum)  # reads 256 MB, writes nothing (no page faults of a fresh output)
    bandwidth = 8 * big.size / best(lambda: stream(big).block_until_ready())
    print(f"float64 peak: matmul {matmul_rate / 1e9:.1f} GFLOP/s, fused FMA chain {fma_rate / 1e9:.1f} GFLOP/s; "
          f"stream bandwidth {bandwidth / 1e9:.1f} GB/s")
    return max(matmul_rate, fma_rate), bandwidth


def step_cost(jax, model, params, task):
    """(FLOPs, bytes) of one run's GD step: the FLOPs of the generic step from sufficient statistics by XLA's cost
    analysis; the bytes a step must move at least, reading and writing the run's float64 params once."""
    import optax

    from layerwise.engine import statistics_loss

    one = jax.tree_util.tree_map(lambda leaf: leaf[0], params)
    one_task = jax.tree_util.tree_map(lambda leaf: leaf[0], task) if task.input_covariance.ndim == 3 else task

    def step(p):
        gradient = jax.grad(lambda q: statistics_loss(model.end_to_end(q), one_task))(p)
        return optax.apply_updates(p, jax.tree_util.tree_map(lambda g: -0.01 * g, gradient))

    analysis = jax.jit(step).lower(one).compile().cost_analysis()
    analysis = analysis[0] if isinstance(analysis, list) else analysis
    return float(analysis.get("flops", 0.0)), 16.0 * sum(leaf.size for leaf in jax.tree_util.tree_leaves(one))


def fig6a_workload(jax, jnp, np):
    """The Fig. 6a call of ``lazy_rich_fig6`` (seed 0, the authors' grid)."""
    from layerwise import data, init
    from layerwise.engine import log_record_steps
    from layerwise.models import DeepLinearNetwork

    model = DeepLinearNetwork((2, 2, 2))
    lam, s = np.linspace(-9, 9, 40), np.linspace(1, 20, 40)
    cells = [a.ravel() for a in np.meshgrid(lam, s, indexing="ij")]
    key_task, key_init = jax.random.split(jax.random.PRNGKey(0))
    task = data.whitened_regression(key_task, 10, 2, 2)
    tasks = jax.vmap(task.scale_targets)(jnp.asarray(1.0 / cells[1]))
    params = jax.vmap(lambda k, l, c: init.lambda_balanced_init(k, model, jnp.sqrt(c), imbalance=l))(
        jax.random.split(key_init, cells[0].size), *map(jnp.asarray, cells))
    weights = {"first_layer": (lambda m, p, t: p[0], ("hidden", "input")),
               "second_layer": (lambda m, p, t: p[1], ("output", "hidden"))}
    call = dict(steps=4000, learning_rate=0.01, task_batched=True, record_steps=log_record_steps(4000, 40),
                observables=weights)
    return [(model, params, tasks, call)]


def diagonal_workload(jax, jnp, np, cells: int, seeds: int, steps: int):
    """Diagonal nets with 8 modes, depth 2..4: init scale × learning rate × seed, one call per depth."""
    from layerwise import data
    from layerwise.engine import even_record_steps
    from layerwise.models import DiagonalLinearNetwork

    task = data.diagonal_task(jnp.array([4.0, 3.0, 2.0, 1.5, 1.0, 0.5, 0.25, 0.1]),
                              jnp.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]))
    scale, rate, _ = (a.ravel() for a in np.meshgrid(np.geomspace(1e-3, 1.0, cells), np.geomspace(1e-3, 5e-2, cells),
                                                     np.arange(seeds), indexing="ij"))
    keys = jax.random.split(jax.random.PRNGKey(2), scale.size)
    jobs = []
    for depth in (2, 3, 4):
        model = DiagonalLinearNetwork(dim=8, depth=depth)
        params = jax.vmap(lambda k, a: a * jax.random.normal(k, (depth, 8)))(keys, jnp.asarray(scale))
        jobs.append((model, params, task, dict(steps=steps, learning_rate=rate, record_steps=even_record_steps(
            steps, 11), on_divergence="mark")))
    return jobs


def measure(jax, jobs, repeats: int) -> dict[bool, tuple[float, float]]:
    """path -> (cold seconds, warm seconds) of running every job once: the first call of each path, then the best
    of ``repeats`` calls, the two paths interleaved (so a change in the machine's load hits both alike)."""
    from layerwise.engine import train

    def run(fast):
        start = time.perf_counter()
        for model, params, task, call in jobs:
            jax.block_until_ready(train(model, params, task, fast_path=fast, **call).params)
        return time.perf_counter() - start

    cold = {fast: run(fast) for fast in (False, True)}
    warm = {False: [], True: []}
    for _ in range(repeats):
        for fast in (False, True):
            warm[fast].append(run(fast))
    return {fast: (cold[fast], min(warm[fast])) for fast in (False, True)}


def report(name, jobs, jax, limits, repeats):
    run_steps = sum(jax.tree_util.tree_leaves(p)[0].shape[0] * call["steps"] for _, p, _, call in jobs)
    costs = [step_cost(jax, model, params, task) for model, params, task, _ in jobs]
    flops = sum(c[0] for c in costs) / len(costs)
    bytes_ = sum(c[1] for c in costs) / len(costs)
    times = measure(jax, jobs, repeats)
    print(f"\n{name}: {run_steps:,} run·steps; per run·step {flops:.0f} FLOP, {bytes_:.0f} B (FLOPs: XLA cost analysis; bytes: params read + written)")
    print(f"{'path':>8} {'cold s':>8} {'warm s':>8} {'warm run·steps/s':>17} {'cold run·steps/s':>17} "
          f"{'GFLOP/s':>8} {'% peak':>7} {'GB/s':>7} {'% bw':>6}")
    for fast in (False, True):
        cold, warm = times[fast]
        rate = run_steps / warm
        print(f"{'fast' if fast else 'generic':>8} {cold:>8.2f} {warm:>8.3f} {rate:>17,.0f} {run_steps / cold:>17,.0f} "
              f"{rate * flops / 1e9:>8.2f} {100 * rate * flops / limits[0]:>6.2f}% {rate * bytes_ / 1e9:>7.2f} "
              f"{100 * rate * bytes_ / limits[1]:>5.2f}%")
    (generic_cold, generic_warm), (fast_cold, fast_warm) = times[False], times[True]
    print(f"{'fast/generic':>8}: warm {generic_warm / fast_warm:.1f}x, cold {generic_cold / fast_cold:.1f}x")
    sys.stdout.flush()


def main() -> None:
    args = parse()
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np

    print(f"devices: {jax.devices()}")
    limits = machine_limits(jax, jnp, np)
    if "a" in args.only:
        report("a. Fig. 6a grid, 1,600 runs of a 2-2-2 net, 4,000 GD steps", fig6a_workload(jax, jnp, np), jax,
               limits, args.repeats)
    if "b" in args.only:
        report(f"b. 32 x 32 x {args.seeds} diagonal nets (8 modes), depth 2, 3, 4, {args.grid_steps} GD steps",
               diagonal_workload(jax, jnp, np, 32, args.seeds, args.grid_steps), jax, limits, args.repeats)
    if "c" in args.only:
        report(f"c. 200 x 200 x {args.seeds} diagonal nets (8 modes), depth 2, 3, 4, {args.large_steps} GD steps",
               diagonal_workload(jax, jnp, np, 200, args.seeds, args.large_steps), jax, limits, args.repeats)


if __name__ == "__main__":
    main()
