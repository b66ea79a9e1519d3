"""How each workload's cost grows with its size, and what an 80 GB GPU would hold and do (issue #13 section 5).

Part 1 (measured here): four workloads, each timed at 3 sizes along each of its axes with the other sizes at a base
value; the table prints the seconds per call and the growth exponent ``alpha`` of ``time ~ size^alpha`` (least
squares over the 3 sizes; 1 = linear, 0 = flat, 3 = cubic):

* engine data path: `layerwise.train`, two-layer linear net d = h = m, n samples, full-batch GD (``use_statistics=False``);
* statistics path: the same from the sufficient statistics (``use_statistics=True``);
* diagonal-net grid: a grid of depth-2 `DiagonalLinearNetwork` runs (one learning rate and init per cell);
* closed form: `theory.lambda_balanced_solution` (``symmetric`` basis), ``jax.vmap`` over inits, at T save times.

Part 2 (a projection, computed from shapes, nothing run on a GPU): for the issue's reference sizes, the bytes one run
holds (params + optimiser state + records + the step's working set), how many runs fit at once in 80 GB, and the
runs*steps/s a roofline allows at a stated H100-class peak, capped by a per-step latency floor (the kernels of one
step run one after another, whatever the number of runs). Run by hand:

    python benchmarks/scaling.py               # both parts (a few minutes on 2 cores)
    python benchmarks/scaling.py --projection  # part 2 only (no timing)

Compile time is excluded (one warm-up call per shape); each time is the best of ``--repeats`` calls, the 3 sizes of an
axis timed round-robin (same load for the three).
"""

from __future__ import annotations

import argparse
import math
import time

# The base sizes and the 3 sizes per axis of each workload.
ENGINE_BASE = {"runs": 8, "steps": 128, "width": 32, "samples": 256}
ENGINE_AXES = {"runs": (4, 8, 16), "steps": (64, 128, 256), "width": (16, 32, 64), "samples": (128, 256, 512)}
DIAGONAL_BASE = {"runs": 1024, "steps": 500, "width": 8}
DIAGONAL_AXES = {"runs": (256, 1024, 4096), "steps": (250, 500, 1000), "width": (4, 8, 16)}
CLOSED_BASE = {"runs": 64, "steps": 64, "width": 16}  # steps = save times
CLOSED_AXES = {"runs": (16, 64, 256), "steps": (16, 64, 256), "width": (8, 16, 32)}

GPU = {"name": "H100 SXM 80 GB (datasheet)", "memory": 80e9, "usable": 0.9, "fp32_flops": 67e12,
       "bandwidth": 3.35e12}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--projection", action="store_true", help="print part 2 only")
    parser.add_argument("--kernel-us", type=float, default=3.0, help="assumed GPU cost of one kernel of a step (µs)")
    parser.add_argument("--loop-us", type=float, default=10.0,
                        help="assumed GPU cost of one loop iteration's condition and bookkeeping (µs)")
    return parser.parse_args()


def best_of(fns, repeats: int) -> list[float]:
    """Best time of each thunk, timed round-robin so that all of them see the same load of a shared machine."""
    for fn in fns:
        fn()  # compile and warm up
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def engine_call(statistics: bool):
    """``(sizes) -> thunk`` training a two-layer linear net d = h = m on n whitened samples."""
    import jax
    import jax.numpy as jnp

    import layerwise as lw
    from layerwise import data, init
    from layerwise.models import DeepLinearNetwork

    def make(runs, steps, width, samples):
        model = DeepLinearNetwork(widths=(width, width, width))
        task = data.whitened_regression(jax.random.PRNGKey(0), samples, width, width, dtype=jnp.float32)
        keys = jax.random.split(jax.random.PRNGKey(1), runs)
        params = jax.vmap(lambda k: init.gaussian_init(k, model, 1.0, parameterisation="fan_in",
                                                       dtype=jnp.float32))(keys)
        return lambda: lw.train(model, params, task, steps=steps, learning_rate=1e-3, record_steps=[0, steps],
                                use_statistics=statistics).params[0].block_until_ready()
    return make


def diagonal_call(runs, steps, width):
    """A grid of depth-2 diagonal nets on a population task: learning rate x init scale, one cell per run."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import layerwise as lw
    from layerwise import data
    from layerwise.models import DiagonalLinearNetwork

    model = DiagonalLinearNetwork(dim=width, depth=2)
    task = data.diagonal_task(jnp.linspace(1.0, 2.0, width, dtype=jnp.float32), dtype=jnp.float32)
    side = int(round(math.sqrt(runs)))
    lr, scale = (np.repeat(np.linspace(0.01, 0.1, side), side).astype(np.float32),
                 np.tile(np.geomspace(1e-3, 1.0, side), side).astype(np.float32))
    keys = jax.random.split(jax.random.PRNGKey(2), lr.size)
    params = jax.vmap(lambda k, s: model.init(k, s, dtype=jnp.float32))(keys, jnp.asarray(scale))
    return lambda: lw.train(model, params, task, steps=steps, learning_rate=lr,
                            record_steps=[0, steps]).params.block_until_ready()


def closed_form_call(runs, steps, width):
    """`lambda_balanced_solution` (symmetric basis) for ``runs`` λ-balanced inits at ``steps`` save times."""
    import jax
    import jax.numpy as jnp

    from layerwise import init, theory
    from layerwise.models import DeepLinearNetwork

    model = DeepLinearNetwork(widths=(width, width, width))
    keys = jax.random.split(jax.random.PRNGKey(3), runs + 1)
    target = jnp.diag(jnp.linspace(3.0, 0.5, width))
    w1, w2 = jax.vmap(lambda k: init.lambda_balanced_init(k, model, 0.1, imbalance=0.5))(keys[1:])
    times = jnp.linspace(0.0, 20.0, steps)
    solve = jax.jit(jax.vmap(lambda a, b: theory.lambda_balanced_solution(times, a, b, target,
                                                                          hidden_basis="symmetric")))
    return lambda: solve(w1, w2)[0].block_until_ready()


def growth(sizes, seconds) -> float:
    """Least-squares slope of log(seconds) against log(size)."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def measure(args) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)  # the closed form needs float64; the engine runs are float32
    workloads = [
        ("engine data path", engine_call(False), ENGINE_BASE, ENGINE_AXES),
        ("statistics path", engine_call(True), ENGINE_BASE, ENGINE_AXES),
        ("diagonal-net grid", diagonal_call, DIAGONAL_BASE, DIAGONAL_AXES),
        ("closed form", closed_form_call, CLOSED_BASE, CLOSED_AXES),
    ]
    print(f"devices: {jax.devices()}; best of {args.repeats}, compile excluded")
    print(f"{'workload':>18} {'axis':>8} {'sizes':>16} {'seconds per call':>26} {'alpha':>6}")
    for name, make, base, axes in workloads:
        for axis, sizes in axes.items():
            seconds = best_of([make(**{**base, axis: size}) for size in sizes], args.repeats)
            print(f"{name:>18} {axis:>8} {'/'.join(map(str, sizes)):>16} "
                  f"{' / '.join(f'{s:.3g}' for s in seconds):>26} {growth(sizes, seconds):>6.2f}", flush=True)
    print(f"base sizes: engine {ENGINE_BASE}, diagonal grid {DIAGONAL_BASE}, closed form {CLOSED_BASE} "
          "(closed form: steps = save times, runs = inits; engine float32, closed form float64)")


def footprint(widths, samples, records, itemsize=4, optimizer_slots=0, statistics=False):
    """Bytes per run and FLOP and HBM bytes per run-step of GD on a deep linear net ``widths`` (shapes only)."""
    layers = list(zip(widths[1:], widths[:-1]))
    params = sum(a * b for a, b in layers)
    d, m = widths[0], widths[-1]
    if statistics:  # W = W_L..W_1 (prefix products), G = W S - Syx, pullback: 2 products per layer
        products = [(widths[l + 1], widths[l], d) for l in range(1, len(layers))] + [(m, d, d)]
        products += [(a, b, d) for a, b in layers[1:]] * 2  # dL/dW_l and the cotangent passed to W_{l-1}
        work = sum(widths[l] * d for l in range(1, len(widths))) + m * d  # prefix products and G
    else:  # layer by layer on n samples: forward, the input cotangents (not the first layer's), the weight gradients
        products = [(samples, a, b) for a, b in layers] + [(samples, a, b) for a, b in layers[1:]]
        products += [(a, b, samples) for a, b in layers]
        work = 2 * samples * sum(widths[1:])  # activations and their cotangents
    flop = sum(2 * a * b * c for a, b, c in products)
    held = (params * (2 + optimizer_slots) + records * (1 + m * d)) * itemsize  # params, gradient, slots, records
    # HBM traffic: each product reads its operands and writes its result once; the update reads p, g, writes p.
    traffic = sum(a * b + b * c + a * c for a, b, c in products) * itemsize + 3 * params * itemsize
    return held + work * itemsize, flop, traffic, len(products)


def projection(args) -> None:
    cases = [
        ("engine data path", (50, 50, 50), 500, False),
        ("statistics path", (50, 50, 50), 500, True),
        ("statistics path", (256, 256, 256), 2048, True),
        ("Fig. 6a (2-2-2 net)", (2, 2, 2), None, True),
    ]
    gpu = GPU
    print(f"\nprojection to a {gpu['name']}: {gpu['fp32_flops'] / 1e12:.0f} TFLOP/s float32 (no tensor cores), "
          f"{gpu['bandwidth'] / 1e12:.2f} TB/s, {gpu['usable']:.0%} of {gpu['memory'] / 1e9:.0f} GB usable; "
          f"step floor {args.loop_us:g} µs + {args.kernel_us:g} µs per kernel; GD, float32, 201 records of loss and W")
    print(f"{'workload':>20} {'widths':>14} {'n':>5} {'KiB/run':>9} {'runs fit':>12} {'MFLOP/step':>11} "
          f"{'KB/step':>8} {'roofline r*s/s':>15} {'step floor/s':>13} {'runs to fill':>13}")
    for name, widths, samples, statistics in cases:
        held, flop, traffic, kernels = footprint(widths, samples or 0, 201, statistics=statistics)
        fit = int(gpu["usable"] * gpu["memory"] // held)
        roofline = min(gpu["fp32_flops"] / flop, gpu["bandwidth"] / traffic)
        floor = 1e6 / (args.loop_us + args.kernel_us * (kernels + 4))  # + update, finiteness check, keep
        print(f"{name:>20} {'x'.join(map(str, widths)):>14} {samples or '-':>5} {held / 1024:>9.1f} {fit:>12,} "
              f"{flop / 1e6:>11.3f} {traffic / 1e3:>8.1f} {roofline:>15,.0f} {floor:>13,.0f} "
              f"{min(fit, math.ceil(roofline / floor)):>13,}")
    print("roofline r*s/s: runs*steps/s once enough runs share each kernel (min of FLOP- and byte-bound); "
          "step floor/s: steps/s of one call whatever its runs; runs to fill = roofline / floor (capped by what fits)")


def main() -> None:
    args = parse()
    if not args.projection:
        measure(args)
    projection(args)


if __name__ == "__main__":
    main()
