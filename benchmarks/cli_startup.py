"""How fast the ``keras-vae`` command answers: ``--help`` and ``--version`` (which
must not import TensorFlow) against a command that does (``components``).

    python benchmarks/cli_startup.py              # 7 runs each, prints medians
    python benchmarks/cli_startup.py --runs 15

Each run is a fresh process (the installed ``keras-vae`` script when it is on PATH,
else ``python -m keras_vae``), timed from start to exit; the median is printed with
the minimum and maximum. The target is a median under 1 s for ``--help``.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def command() -> list[str]:
    script = shutil.which("keras-vae")
    return [script] if script else [sys.executable, "-m", "keras_vae"]


def time_runs(args: list[str], runs: int) -> list[float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command() + args, capture_output=True, text=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"keras-vae {' '.join(args)} failed: {done.stderr[-2000:]}")
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command (default: 7)")
    parser.add_argument("--skip-components", action="store_true",
                        help="do not time 'components' (which imports TensorFlow)")
    args = parser.parse_args(argv)
    print(f"{platform.node()} | {os.cpu_count()} CPUs | Python {platform.python_version()} | "
          f"{' '.join(command())}")
    cases = [["--help"], ["--version"], ["train", "--help"]]
    if not args.skip_components:
        cases.append(["components"])
    for case in cases:
        times = time_runs(case, args.runs)
        print(f"keras-vae {' '.join(case):<14} median {statistics.median(times):.3f} s  "
              f"(min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)")


if __name__ == "__main__":
    main()
