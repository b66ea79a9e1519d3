"""Sweep backends: a 64-cell sweep on ``local`` vs ``ray`` on this machine (issue #14's benchmark).

Two workloads, each a 64-cell sweep timed on both backends in the same run:

* ``experiment``: ``grokking-toy`` at its ``test`` preset, 8 first seeds x 8 durations, 2 seeds per cell (a
  real experiment: compile once per process, then simulate, check, plot and write each cell);
* ``overhead``: a function that returns a one-number Dataset (no JAX), so the time per cell is the sweep's own
  cost: scheduling, moving the result to the driver, writing the cell folder, merging.

Prints cells/min, seconds per cell, and the Ray/local ratio; Ray's start-up is timed apart. Run by hand:

    python benchmarks/sweep_backends.py                 # both workloads, a local Ray instance with all cores
    python benchmarks/sweep_backends.py --cells 16      # a smaller grid (4 x 4)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("LAYERWISE_COMPILATION_CACHE", "0")


def constant(config: dict):
    import xarray as xr

    return xr.Dataset({"y": float(config["x"]) * float(config["z"])})


def workloads(side: int) -> dict:
    seeds = list(range(0, 2 * side, 2))
    durations = [20.0 + 2.5 * i for i in range(side)]
    return {
        "experiment": dict(experiment="grokking-toy", grid={"seed": seeds, "toy_duration": durations}, seeds=2,
                           preset="test"),
        "overhead": dict(experiment=constant, grid={"x": list(range(side)), "z": list(range(side))}),
    }


def timed(spec: dict, backend: str, out: Path) -> float:
    import layerwise as lw

    start = time.perf_counter()
    lw.sweep(spec["experiment"], grid=spec["grid"], seeds=spec.get("seeds"), preset=spec.get("preset"),
             backend=backend, out=out, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=64, help="cells per sweep (a square grid)")
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray instance")
    args = parser.parse_args()
    side = max(1, round(args.cells ** 0.5))
    cells = side * side
    from layerwise.sweeping.ray_backend import connect

    start = time.perf_counter()
    connect(num_cpus=args.num_cpus)
    ray_start = time.perf_counter() - start
    print(f"{cells}-cell sweeps on {os.cpu_count()} cores; Ray instance ({args.num_cpus} CPUs) started in "
          f"{ray_start:.1f} s (not counted below)")
    print(f"{'workload':>10} {'backend':>7} {'wall s':>8} {'cells/min':>10} {'s/cell':>8} {'ray/local':>10}")
    root = Path(tempfile.mkdtemp(prefix="sweep-benchmark-"))
    try:
        for name, spec in workloads(side).items():
            walls = {backend: timed(spec, backend, root / f"{name}-{backend}") for backend in ("local", "ray")}
            for backend, wall in walls.items():
                ratio = f"{walls['ray'] / walls['local']:.2f}x" if backend == "ray" else ""
                print(f"{name:>10} {backend:>7} {wall:8.1f} {60 * cells / wall:10.1f} {wall / cells:8.3f} {ratio:>10}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
