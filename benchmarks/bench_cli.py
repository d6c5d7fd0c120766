"""Benchmark: how long `gridcover --help` takes, lazy start vs every command imported.

Each figure is the best of ``--repeat`` fresh interpreter runs (wall time of the whole
process, as a user sees it), measured in this run:
  lazy:  ``python -m gridcover --help`` (only the commands' NAME/HELP constants are read);
  eager: the previous start, every command module imported and configured
         (``build_parser("*")``), as ``gridcover --help`` did before issue 16;
  bare:  ``python -c pass``, the interpreter's own start, for reference.
The load average is printed: wall times scale with it on a shared machine. Target: lazy
≤ 0.3 s. No assertions: figures only. Run: ``python -m benchmarks.bench_cli``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

EAGER = (
    "from gridcover.cli import build_parser\n"
    "try:\n    build_parser('*').parse_args(['--help'])\nexcept SystemExit:\n    pass\n"
)


def best(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average at the start: {load}; {os.cpu_count()} CPU(s)")
    bare = best([sys.executable, "-c", "pass"], args.repeat)
    lazy = best([sys.executable, "-m", "gridcover", "--help"], args.repeat)
    eager = best([sys.executable, "-c", EAGER], args.repeat)
    print(f"python -c pass (interpreter start): {bare:.3f} s")
    print(f"gridcover --help, lazy start: {lazy:.3f} s  [target ≤ 0.3 s]")
    print(f"gridcover --help, every command imported (previous start): {eager:.3f} s")
    print(f"lazy start is {eager / lazy:.1f}x faster (best of {args.repeat} each)")
    print(f"load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
