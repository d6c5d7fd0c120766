"""Benchmark: the coverage analysis on Dask from inputs staged on storage (issue 16 targets).

Synthetic province (``benchmarks/_province.py``; default 1,000,000 cameras and 1,000,000
buildings over 10,000 km² at Shenzhen, ~33 M H3 cells at res 12), generated once and cached
as GeoParquet under ``--cache`` (generation not timed). Then, each step in a fresh process
so its peak memory is its own, on a real cluster started for each run (``dask scheduler``
and ``--workers`` ``dask worker`` processes, one thread each, ``--memory-limit``, loopback):

1. ``gridcover stage`` (``staged.stage_inputs``): read the cached layers, plan, write the
   partitioned GeoParquet; wall time (reading apart) and peak memory;
2. the staged run (``staged.run_staged``, the client of ``analyze --dask --staged``): wall
   time per stage, client peak RSS (VmHWM of the client process), per-worker peak RSS
   (psutil sampling of each worker's process tree every 0.2 s, from this process), the
   per-partition costs;
3. the baseline, the previous method (``run_distributed``: the client reads and holds every
   layer and ships each partition its subsets) at ``--baseline-cameras`` (default: 100,000,
   1/10 of the area at the same densities: at 1M cameras it took 588 s); when that size
   differs from the main one, stage + staged run are repeated at the baseline size so the
   ratios are measured at one size, in the same run.

Every figure is printed with the machine's 1-minute load average (mean / max over the
step). ``--visibility`` is passed explicitly (2d by default, as in the figures of issue 16);
cells are written as points by default (``--cell-geometry``), as in the earlier figures.
No assertions: figures only.

Run from the repository root: ``python -m benchmarks.bench_dask`` (full size), or small:
``python -m benchmarks.bench_dask --cameras 50000 --area-km2 500 --baseline-cameras 0``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _province import cached_province, province_meta, read_province

ROOT = Path(__file__).resolve().parents[1]
TARGET_CLIENT_MB = 512
TARGET_WORKER_MB = 1536
TARGET_SECONDS = 300


def _hwm_mb() -> float:
    """Peak RSS of this process since its exec (VmHWM), MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Sampler:
    """A thread sampling every 0.2 s the RSS of process trees (by root pid) and the load."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self.procs = {k: psutil.Process(p) for k, p in pids.items()}
        self.peak = dict.fromkeys(pids, 0.0)
        self.load: list[float] = []
        self.run = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        import psutil

        while self.run:
            for k, p in self.procs.items():
                with contextlib.suppress(psutil.Error):
                    tree = [p, *p.children(recursive=True)]
                    rss = max(q.memory_info().rss for q in tree)  # the worker, not its nanny
                    self.peak[k] = max(self.peak[k], rss / 2**20)
            self.load.append(os.getloadavg()[0])
            time.sleep(0.2)

    def stop(self) -> dict[str, Any]:
        self.run = False
        self.thread.join()
        load = self.load or [os.getloadavg()[0]]
        return {"peak_mb": self.peak, "load": (sum(load) / len(load), max(load))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def cluster(workers: int, memory_limit: str, logs: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """A ``dask scheduler`` and ``workers`` single-thread ``dask worker`` processes."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    dask = [sys.executable, "-m", "dask"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        cmd = [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
        with open(logs / "scheduler.log", "ab") as log:
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        for i in range(workers):
            cmd = [*dask, "worker", address, "--nthreads", "1", "--nworkers", "1"]
            cmd += ["--no-dashboard", "--name", f"w{i}", "--memory-limit", memory_limit]
            with open(logs / f"worker{i}.log", "ab") as log:
                procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
        yield address, {f"w{i}": p.pid for i, p in enumerate(procs[1:])}
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def _client(cmd: list[str], watch: dict[str, int]) -> dict[str, Any]:
    """Run ``python -m benchmarks.bench_dask <cmd>`` in a fresh process while sampling the
    ``watch`` process trees; its last stdout line is JSON."""
    run = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_dask", *cmd],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = Sampler({**watch, "client": run.pid})
    out, err = run.communicate()
    sampled = sampler.stop()
    if run.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{err[-3000:]}")
    res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return res | {"sampled_mb": sampled["peak_mb"], "load": sampled["load"]}


def _connect(address: str, workers: int) -> Any:
    from distributed import Client

    client = Client(address, timeout=120)
    client.wait_for_workers(workers, timeout=180)
    return client


# ---- steps run in a fresh process (their last line of output is JSON) -------------------


def stage_step(args: argparse.Namespace) -> None:
    from gridcover.coverage.analysis import AnalysisConfig
    from gridcover.coverage.distributed.staged import stage_inputs

    t = time.perf_counter()
    layers = read_province(Path(args.province))
    read_s = time.perf_counter() - t
    config = AnalysisConfig(
        res=args.res, visibility=args.visibility, cell_geometry=args.cell_geometry
    )
    t = time.perf_counter()
    n = stage_inputs(**layers, url=args.stage_step, config=config, parent_res=args.parent_res)
    out = {"jobs": n, "read_s": read_s, "seconds": time.perf_counter() - t, "hwm_mb": _hwm_mb()}
    print(json.dumps(out))


def _run_figures(r: Any, wall: float) -> dict[str, Any]:
    parts = r.partitions
    work = parts[parts["cells"] > 0]
    steps = [c for c in parts.columns if c.startswith("s_")]
    per = work[steps].sum(axis=1)
    return {
        "seconds": wall,
        "cells": int(r.summary["cells"]),
        "partitions": len(parts),
        "with_cells": len(work),
        "blind_spots": len(r.blind_spots),
        "stages": r.seconds,
        "task_s": {"median": per.median(), "p90": per.quantile(0.9), "max": per.max()},
        "halo_cameras_max": int(work["cameras"].max()) if len(work) else 0,
        "steps": {c[2:]: float(work[c].sum()) for c in steps},
        "task_rss_max": float(work["rss_mb"].max()) if len(work) else 0.0,
        "halo_ratio": float(parts["cameras"].sum()) / max(1, int(r.summary["cameras"])),
        "hwm_mb": _hwm_mb(),
    }


class PhasePeaks:
    """This process's peak RSS (MB) per phase of a run (the first word of its progress
    messages: partitions, merge, finish, done), sampled every 0.1 s."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.phase = "plan"
        self.peak: dict[str, float] = {}
        self.run = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def progress(self, message: str, _i: int, _n: int) -> None:
        self.phase = message.split()[0]

    def _loop(self) -> None:
        while self.run:
            rss = self.proc.memory_info().rss / 2**20
            self.peak[self.phase] = max(self.peak.get(self.phase, 0.0), rss)
            time.sleep(0.1)

    def stop(self) -> dict[str, float]:
        self.run = False
        self.thread.join()
        return self.peak


def staged_step(args: argparse.Namespace) -> None:
    from gridcover.coverage.distributed.staged import run_staged

    out = Path(tempfile.mkdtemp(prefix="bench_dask_out_", dir=args.scratch))
    with _connect(args.scheduler, args.workers) as client:
        phases = PhasePeaks()
        t = time.perf_counter()
        r = run_staged(args.staged_step, client=client, out_dir=out, progress=phases.progress)
        wall = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(_run_figures(r, wall) | {"client_phases_mb": phases.stop()}))


def baseline_step(args: argparse.Namespace) -> None:
    from gridcover.coverage.analysis import AnalysisConfig
    from gridcover.coverage.distributed.client import run_distributed

    out = Path(tempfile.mkdtemp(prefix="bench_dask_out_", dir=args.scratch))
    config = AnalysisConfig(
        res=args.res, visibility=args.visibility, cell_geometry=args.cell_geometry
    )
    with _connect(args.scheduler, args.workers) as client:
        t = time.perf_counter()
        layers = read_province(Path(args.province))
        r = run_distributed(
            **layers, client=client, out_dir=out, config=config, parent_res=args.parent_res
        )
        wall = time.perf_counter() - t
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps(_run_figures(r, wall)))


# ---- the orchestration -------------------------------------------------------------------


def _common(args: argparse.Namespace) -> list[str]:
    cmd = ["--res", str(args.res), "--visibility", args.visibility]
    cmd += ["--cell-geometry", args.cell_geometry]
    cmd += ["--workers", str(args.workers), "--scratch", str(args.scratch)]
    if args.parent_res is not None:
        cmd += ["--parent-res", str(args.parent_res)]
    return cmd


def _load(r: dict[str, Any]) -> str:
    return f"load {r['load'][0]:.1f} mean / {r['load'][1]:.1f} max"


def _workers(r: dict[str, Any]) -> str:
    mb = sorted(v for k, v in r["sampled_mb"].items() if k != "client")
    return ", ".join(f"{m:,.0f}" for m in mb)


def _print_run(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name}: {r['seconds']:.1f} s wall for {r['cells']:,} cells "
        f"({r['cells'] / r['seconds']:,.0f} cells/s), {r['partitions']} partitions "
        f"({r['with_cells']} with cells), {r['blind_spots']:,} blind spots; {_load(r)}"
    )
    print(
        f"    client peak RSS {r['hwm_mb']:,.0f} MB (VmHWM; sampled "
        f"{r['sampled_mb']['client']:,.0f} MB); workers' peak RSS {_workers(r)} MB"
    )
    if "client_phases_mb" in r:
        by = r["client_phases_mb"].items()
        print("    client peak RSS by phase: " + ", ".join(f"{k} {v:,.0f} MB" for k, v in by))
    print("    stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["stages"].items()))
    t = r["task_s"]
    print(
        f"    per partition: {t['median']:.2f} s median, {t['p90']:.2f} p90, {t['max']:.2f} max; "
        f"largest halo {r['halo_cameras_max']:,} cameras; halo cameras / cameras "
        f"{r.get('halo_ratio', float('nan')):.2f}; worker RSS at task end "
        f"≤ {r['task_rss_max']:,.0f} MB"
    )
    print("    task seconds by step: " + ", ".join(f"{k} {v:.1f}" for k, v in r["steps"].items()))


def measure(args: argparse.Namespace, cameras: int, area_km2: float, baseline: bool) -> None:
    """Stage and run the province of this size (and the baseline when asked)."""
    folder = cached_province(Path(args.cache), cameras, area_km2, args.seed, args.lon, args.lat)
    meta = province_meta(folder)
    rows = meta["rows"]
    print(
        f"province {area_km2:,.0f} km² ({meta['crs']}), {meta['towns']} towns: "
        f"{rows['cameras']:,} cameras, {rows['buildings']:,} buildings, {rows['roads']:,} roads, "
        f"{rows['grids']:,} grids (cached in {folder}; generated once in "
        f"{meta['generated_s']:.0f} s, not timed)"
    )
    common = _common(args)
    logs = Path(tempfile.mkdtemp(prefix="logs_", dir=args.scratch))
    staged = Path(tempfile.mkdtemp(prefix="staged_", dir=args.scratch))
    try:
        st = _client(["--stage-step", str(staged), "--province", str(folder), *common], {})
        size = sum(f.stat().st_size for f in staged.rglob("*") if f.is_file())
        plan = sum(f.stat().st_size for f in staged.glob("plan.*"))
        print(
            f"  stage: {st['seconds']:.1f} s ({st['read_s']:.1f} s reading the layers apart), "
            f"{st['jobs']} partition jobs, {size / 2**20:,.0f} MB written (plan "
            f"{plan / 2**20:.1f} MB); peak RSS {st['hwm_mb']:,.0f} MB; {_load(st)}"
        )
        with cluster(args.workers, args.memory_limit, logs) as (address, pids):
            r = _client(["--staged-step", str(staged), "--scheduler", address, *common], pids)
        _print_run("staged run (analyze --dask --staged)", r)
        print(
            f"    targets: client ≤ {TARGET_CLIENT_MB} MB, ≤ {TARGET_SECONDS} s, "
            f"≤ {TARGET_WORKER_MB} MB per worker (at 1M cameras / 10,000 km², 2 workers)"
        )
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    if baseline:
        with cluster(args.workers, args.memory_limit, logs) as (address, pids):
            cmd = ["--baseline-step", "--province", str(folder), "--scheduler", address]
            b = _client([*cmd, *common], pids)
        _print_run("baseline, layers in the client (run_distributed, previous method)", b)
        print(
            f"    staged / baseline: wall {r['seconds'] / b['seconds']:.2f}x, client peak "
            f"{r['hwm_mb'] / b['hwm_mb']:.2f}x (staging {st['seconds']:.1f} s apart)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cameras", type=int, default=1_000_000)
    ap.add_argument("--area-km2", type=float, default=10_000.0)
    ap.add_argument("--baseline-cameras", type=int, default=100_000, help="0: no baseline")
    ap.add_argument("--res", type=int, default=12)
    ap.add_argument("--parent-res", type=int, default=None, help="default: res - 6")
    ap.add_argument("--visibility", choices=("2d", "3d"), default="2d")
    ap.add_argument("--cell-geometry", choices=("point", "polygon"), default="point")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="4GB", help="per worker process")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lon", type=float, default=114.06)
    ap.add_argument("--lat", type=float, default=22.54)
    default_cache = Path(tempfile.gettempdir()) / "gridcover-bench"
    ap.add_argument("--cache", default=str(default_cache), help="generated provinces")
    ap.add_argument("--scratch", default=None, help="staged inputs and outputs (default: temp)")
    for step in ("--stage-step", "--staged-step"):
        ap.add_argument(step, metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--baseline-step", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--province", help=argparse.SUPPRESS)
    ap.add_argument("--scheduler", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage_step:
        return stage_step(args)
    if args.staged_step:
        return staged_step(args)
    if args.baseline_step:
        return baseline_step(args)
    own = args.scratch is None
    args.scratch = args.scratch or tempfile.mkdtemp(prefix="bench_dask_")
    print(
        f"bench_dask: res {args.res}, visibility {args.visibility}, cells as "
        f"{args.cell_geometry}s, {args.workers} workers x 1 "
        f"thread, memory limit {args.memory_limit}; {os.cpu_count()} CPUs; load at start "
        f"{os.getloadavg()[0]:.1f}"
    )
    base = args.baseline_cameras
    measure(args, args.cameras, args.area_km2, base == args.cameras)
    if base and base != args.cameras:
        print(f"baseline at {base:,} cameras (the previous method at the full size takes ~10 min)")
        measure(args, base, args.area_km2 * base / args.cameras, True)
    if own:
        shutil.rmtree(args.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
