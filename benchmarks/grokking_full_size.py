"""Full-size cost of the two heavy grokking experiments (issue #16 item 8), extrapolated from short runs.

``layerwise reproduce --full`` must fit 2.5 h on two cores; ``grokking-fig11`` and ``grokking-modular`` are its
heaviest parts. Each of their training calls (one seed: fig11's five panels; modular's five EmbeddingMLP runs; the
three transformer inits) is run here through the experiment's own function at the full config's sizes but
``--fraction`` of its steps, twice:

- with a 3-point record grid (training cost per step; the first call compiles, the second is timed);
- with a dense record grid (the extra time over the extra records is the cost of one record: the loss on the
  training set and both accuracies, the test accuracy on the whole held-out set).

The full-size estimate is ``seeds x (steps x per step + records x per record)``, in process CPU seconds (user +
system, which the other jobs on a shared machine do not inflate much) and in wall seconds of this run. A quiet
two-core machine's wall time is about the CPU seconds over the parallel speed-up of XLA's two threads (the
``cpu/wall`` column of a run on a quiet machine; on a loaded one the wall column is only an upper bound).
The achieved GFLOP per CPU second is printed beside a float32 matmul of fig11's layer shape. Run by hand:

    python benchmarks/grokking_full_size.py                 # 2 % of the steps
    python benchmarks/grokking_full_size.py --fraction 0.05 --only fig11
"""

from __future__ import annotations

import argparse
import resource
import time


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, default=0.02, help="fraction of the full steps to time")
    parser.add_argument("--only", nargs="*", default=["fig11", "mlp", "transformer"],
                        choices=["fig11", "mlp", "transformer"])
    return parser.parse_args()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(fn) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn()`` after one untimed call (compilation)."""
    import jax
    jax.block_until_ready(fn())
    wall, cpu = time.perf_counter(), cpu_seconds()
    jax.block_until_ready(fn())
    return time.perf_counter() - wall, cpu_seconds() - cpu


def pieces(fraction: float) -> dict:
    """name -> (steps of the short run, (short fn, sparse grid), (short fn, dense grid), full steps, full records,
    seeds, FLOP per step): each fn trains one seed of the experiment's call."""
    import numpy as np
    from layerwise.engine import linear_record_steps, log_record_steps
    from layerwise.experiments import grokking_fig11 as fig11
    from layerwise.experiments import grokking_modular as modular
    from layerwise.experiments import grokking_transformer as transformer
    from layerwise.seeds import seed_keys

    key = seed_keys(0, 1)[0]
    full11, full_mod = fig11.GrokkingFig11Config(), modular.GrokkingModularConfig()
    epochs = max(4, round(fraction * full11.epochs))
    c11 = fig11.GrokkingFig11Config(epochs=epochs)
    per_epoch = -(-c11.n_train // c11.batch_size)
    width, inputs = c11.mlp_width, 40  # MNIST-1D offline
    flop11 = 6 * len(fig11.PANELS) * c11.batch_size * (inputs * width + 2 * width * width + 10 * width)
    mlp_steps = max(50, round(fraction * full_mod.modular_steps))
    tf_steps = max(40, round(fraction * full_mod.transformer_steps))
    c_mlp = modular.GrokkingModularConfig(modular_steps=mlp_steps)
    c_tf = modular.GrokkingModularConfig(transformer_steps=tf_steps)
    n_mlp = round(full_mod.train_fraction * full_mod.modulus ** 2)
    flop_mlp = 6 * len(modular.RUNS) * n_mlp * full_mod.modular_width * full_mod.modulus
    d, m = full_mod.transformer_d_model, full_mod.transformer_d_mlp
    n_tf = round(full_mod.transformer_train_fraction * full_mod.modulus ** 2)
    flop_tf = 6 * len(transformer.INITS) * n_tf * (2 * d * m + d * d + d * full_mod.modulus)
    sparse = lambda steps: np.array([0, steps // 2, steps])  # noqa: E731
    return {
        "fig11 (5 panels)": (epochs * per_epoch,
                             lambda: fig11._train_panels(c11, key, 0, sparse(epochs))[:2],
                             (lambda grid: (lambda: fig11._train_panels(c11, key, 0, grid)[:2]))(
                                 log_record_steps(epochs, epochs)),
                             len(log_record_steps(epochs, epochs)),
                             full11.epochs * per_epoch, len(log_record_steps(full11.epochs, full11.record_epochs)),
                             full11.seeds, flop11),
        "modular MLP (5 runs)": (mlp_steps, lambda: modular._train_runs(c_mlp, key, 0, sparse(mlp_steps)),
                                 lambda: modular._train_runs(c_mlp, key, 0, linear_record_steps(mlp_steps, 2)),
                                 len(linear_record_steps(mlp_steps, 2)), full_mod.modular_steps,
                                 len(linear_record_steps(full_mod.modular_steps, full_mod.modular_record_every)),
                                 full_mod.seeds, flop_mlp),
        "transformer (3 inits)": (tf_steps, lambda: transformer.train_inits(c_tf, key, 0, sparse(tf_steps)),
                                  lambda: transformer.train_inits(c_tf, key, 0, linear_record_steps(tf_steps, 2)),
                                  len(linear_record_steps(tf_steps, 2)), full_mod.transformer_steps,
                                  len(transformer.transformer_record_steps(full_mod)), full_mod.seeds, flop_tf),
    }


def matmul_gflop_per_cpu_second() -> float:
    import jax
    import jax.numpy as jnp
    a, b = jnp.ones((5, 128, 512), jnp.float32), jnp.ones((5, 512, 512), jnp.float32)
    product = jax.jit(lambda a, b: jnp.einsum("rni,rij->rnj", a, b) * 1e-3)
    repeats = 100

    def chain():
        out = a
        for _ in range(repeats):
            out = product(out, b)
        return out
    _, cpu = timed(chain)
    return 2 * 5 * 128 * 512 * 512 * repeats / cpu / 1e9


def main() -> None:
    args = parse()
    wanted = {"fig11": "fig11 (5 panels)", "mlp": "modular MLP (5 runs)", "transformer": "transformer (3 inits)"}
    print(f"float32 batched matmul (5 x 128x512 @ 512x512): {matmul_gflop_per_cpu_second():.1f} GFLOP per CPU s")
    print(f"{'piece':24} {'steps':>6} {'cpu ms/step':>11} {'GFLOP/cpu s':>11} {'cpu ms/record':>13} "
          f"{'cpu/wall':>8} {'full cpu s':>10} {'full wall s (this load)':>24}")
    for name, (steps, sparse_fn, dense_fn, dense_records, full_steps, full_records, seeds, flop) in \
            pieces(args.fraction).items():
        if name not in {wanted[w] for w in args.only}:
            continue
        wall, cpu = timed(sparse_fn)
        dense_wall, dense_cpu = timed(dense_fn)
        extra = max(dense_records - 3, 1)
        record_cpu, record_wall = max(dense_cpu - cpu, 0) / extra, max(dense_wall - wall, 0) / extra
        full_cpu = seeds * (full_steps * cpu / steps + full_records * record_cpu)
        full_wall = seeds * (full_steps * wall / steps + full_records * record_wall)
        print(f"{name:24} {steps:>6} {1e3 * cpu / steps:>11.1f} {flop * steps / cpu / 1e9:>11.1f} "
              f"{1e3 * record_cpu:>13.1f} {cpu / wall:>8.2f} {full_cpu:>10.0f} {full_wall:>24.0f}", flush=True)


if __name__ == "__main__":
    main()
