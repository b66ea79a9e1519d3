"""Checkpointing overhead (issue #18): one `train` call with and without a `Checkpointer`, timed in the same run.

Workload: a deep linear network (widths d, h, m), Adam, R runs, float64, 200 recorded steps. Three ways:

- ``plain``: one compiled call (no checkpointer);
- ``chunked``: a checkpointer that never saves within the call (``min_interval_s`` large, the CLI's behaviour for a
  call shorter than ``$LAYERWISE_CHECKPOINT_SECONDS``): the cost of chunked execution alone;
- ``saving``: a save after every chunk of ``--every`` segments (the worst case: ``LAYERWISE_CHECKPOINT_SECONDS=0``).

Compile time is reported apart (the first call of each way); the steady-state numbers are medians of ``--repeats``
calls, each with a fresh checkpoint folder. Run by hand:

    python benchmarks/checkpoint_overhead.py
    python benchmarks/checkpoint_overhead.py --width 128 --runs 16 --steps 20000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=32, help="d = h = m")
    parser.add_argument("--runs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=10, help="recording segments per chunk")
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


def main() -> None:
    args = parse()
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    from layerwise import data, init
    from layerwise.engine import even_record_steps, train
    from layerwise.engine.checkpoint import Checkpointer
    from layerwise.models import DeepLinearNetwork

    model = DeepLinearNetwork(widths=(args.width,) * 3)
    task = data.whitened_regression(jax.random.PRNGKey(0), 4 * args.width, args.width, args.width)
    params = jax.vmap(lambda k: init.gaussian_init(k, model, 0.3))(jax.random.split(jax.random.PRNGKey(1), args.runs))
    record = even_record_steps(args.steps, 201)
    scratch = Path(tempfile.mkdtemp())

    def call(way: str, index: int) -> float:
        checkpoint = None
        if way != "plain":
            checkpoint = Checkpointer(scratch / f"{way}-{index}", args.every,
                                      min_interval_s=0.0 if way == "saving" else 1e9)
        start = time.perf_counter()
        result = train(model, params, task, "adam", steps=args.steps, learning_rate=1e-3, record_steps=record,
                       checkpoint=checkpoint)
        jax.block_until_ready(result.params)
        return time.perf_counter() - start

    ways = ("plain", "chunked", "saving")
    first = {way: call(way, 0) for way in ways}
    steady = {way: statistics.median(call(way, i) for i in range(1, args.repeats + 1)) for way in ways}
    chunks = -(-(len(record) - 1) // args.every)
    size = sum(np.asarray(leaf).nbytes for leaf in jax.tree_util.tree_leaves(params))
    print(f"workload: widths {model.widths}, R = {args.runs}, Adam, float64, {args.steps} steps, {len(record)} "
          f"records, {chunks} chunks of {args.every} segments; params {size / 2**20:.2f} MiB (x3 with Adam's state)")
    print(f"{'way':>8} {'first call (s)':>15} {'steady (s)':>11} {'steady / plain':>15}")
    for way in ways:
        print(f"{way:>8} {first[way]:15.3f} {steady[way]:11.3f} {steady[way] / steady['plain']:15.3f}")


if __name__ == "__main__":
    main()
