"""Engine throughput: two-layer linear net, full-batch GD, float32 (issue #2's benchmark).

Prints runs*steps/s for R in {1, 64, 1024} on the data path and the sufficient-statistics path, the achieved
GFLOP/s as a fraction of this machine's float32 matmul peak (measured here, 1024^3 with jax and numpy), and the
statistics-over-data speed-up. Run by hand:

    python benchmarks/engine_throughput.py            # d = h = m = 50, n = 500
    python benchmarks/engine_throughput.py --size 256 --samples 2048 --runs 1 16 64   # a matmul-bound size
    python benchmarks/engine_throughput.py --devices 2   # shard the runs axis over 2 host devices

Compile time is excluded (one warm-up call per shape); each number is the median of ``--repeats`` timings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=50, help="d = h = m")
    parser.add_argument("--samples", type=int, default=500, help="n")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--max-run-steps", type=int, default=200_000,
                        help="cap runs*steps per timing on the data path (fewer steps at large R)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--devices", type=int, default=1, help="host devices to shard the runs axis over")
    return parser.parse_args()


def main() -> None:
    args = parse()
    if args.devices > 1:
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
    import jax
    import jax.numpy as jnp
    import numpy as np

    import layerwise as lw
    from layerwise import data, init
    from layerwise.models import DeepLinearNetwork

    def timed(fn, repeats):
        fn()  # compile + warm up
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    # Machine peak: float32 matmul 1024^3 (2 n^3 FLOP).
    a = jnp.ones((1024, 1024), jnp.float32)
    matmul = jax.jit(lambda x: x @ x)
    jax_peak = 2 * 1024**3 / timed(lambda: matmul(a).block_until_ready(), 5) / 1e9
    an = np.ones((1024, 1024), np.float32)
    numpy_peak = 2 * 1024**3 / timed(lambda: an @ an, 5) / 1e9
    peak = max(jax_peak, numpy_peak)
    print(f"devices: {jax.devices()}")
    print(f"float32 matmul peak: jax {jax_peak:.1f} GFLOP/s, numpy {numpy_peak:.1f} GFLOP/s (using {peak:.1f})")

    d = args.size
    model = DeepLinearNetwork(widths=(d, d, d))
    task32 = data.whitened_regression(jax.random.PRNGKey(0), args.samples, d, d)
    task32 = jax.tree_util.tree_map(lambda v: v.astype(jnp.float32), task32)
    flop_data = 10 * args.samples * d * d  # forward 2 matmuls + backward 3 (each 2 n d^2)
    flop_stats = 2 * (2 * d**3) + 2 * d**3 + 2 * d**3  # W Sxx, products and the two backward products (approx.)
    print(f"\nworkload: d = h = m = {d}, n = {args.samples}, float32; FLOP/step/run: data {flop_data / 1e6:.2f} M, "
          f"statistics ~{flop_stats / 1e6:.2f} M")
    print(f"{'R':>6} {'path':>11} {'steps':>6} {'runs*steps/s':>14} {'GFLOP/s':>9} {'% peak':>7} {'stats/data':>11}")
    for runs in args.runs:
        keys = jax.random.split(jax.random.PRNGKey(1), runs)
        params = jax.vmap(lambda k: init.gaussian_init(k, model, 1.0, parameterisation="fan_in",
                                                       dtype=jnp.float32))(keys)
        rates = {}
        for path in ("data", "statistics"):
            steps = args.steps if path == "statistics" else max(10, min(args.steps, args.max_run_steps // runs))
            fn = lambda: lw.train(model, params, task32, steps=steps, learning_rate=1e-3,  # noqa: E731
                                  record_steps=[0, steps], use_statistics=path == "statistics").params[0].block_until_ready()
            seconds = timed(fn, args.repeats)
            rates[path] = runs * steps / seconds
            gflops = rates[path] * (flop_data if path == "data" else flop_stats) / 1e9
            ratio = f"{rates['statistics'] / rates['data']:.1f}x" if path == "statistics" else ""
            print(f"{runs:>6} {path:>11} {steps:>6} {rates[path]:>14,.0f} {gflops:>9.1f} {100 * gflops / peak:>6.1f}% "
                  f"{ratio:>11}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
