"""Dask with inputs on storage: `gridcover stage` writes partitioned GeoParquet inputs once;
a real `dask scheduler` and two `dask worker` processes (started from the CLI, loopback)
read only their partition's files; the tables equal the single-machine run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from _synthetic_city import synthetic_city
from gridcover.coverage.analysis import run_analysis
from gridcover.coverage.distributed.staged import read_job, run_staged, stage_inputs
from test_distributed import (
    assert_blind_spots_equal,
    assert_cells_equal,
    assert_stats_equal,
    assert_views_equal,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SRC = Path(__file__).resolve().parents[1] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-thread worker processes, each its own `dask` command."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    logs = tmp_path_factory.mktemp("dask-logs")
    dask = [sys.executable, "-m", "dask"]
    procs: list[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                env=env,
                stdout=open(logs / "scheduler.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        *dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--name",
                        f"w{i}",
                        "--memory-limit",
                        "2GB",
                    ],
                    env=env,
                    stdout=open(logs / f"worker{i}.log", "wb"),  # noqa: SIM115
                    stderr=subprocess.STDOUT,
                )
            )
        yield address
    finally:
        _stop(procs)


@pytest.fixture(scope="module")
def staged_run(cluster: str, tmp_path_factory: pytest.TempPathFactory):
    from distributed import Client

    layers = synthetic_city(parent_res=8)
    url = str(tmp_path_factory.mktemp("staged") / "inputs")
    n_jobs = stage_inputs(**layers, url=url, parent_res=8)
    out = tmp_path_factory.mktemp("staged-out")
    with Client(cluster, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
        t = time.perf_counter()
        dist = run_staged(url, client=client, out_dir=out)
        seconds = time.perf_counter() - t
        workers = sorted(client.scheduler_info()["workers"])
    return run_analysis(**layers), dist, layers, url, n_jobs, workers, seconds


def test_staged_run_on_cli_cluster_equals_single_machine(staged_run) -> None:
    single, dist, _, _, n_jobs, workers, _ = staged_run
    assert len(workers) == 2 and len(dist.partitions) == n_jobs > 2
    assert_cells_equal(single, dist, close=("weight", "w_incidents"))
    assert_blind_spots_equal(single, dist)
    assert_stats_equal(single, dist)
    assert_views_equal(single, dist)
    assert dist.notes == single.notes


def test_each_partition_holds_only_its_halo(staged_run) -> None:
    single, dist, layers, url, _, _, _ = staged_run
    n_cams, n_bld = len(layers["cameras"]), len(layers["buildings"])
    n_kept = len(single.state.cameras)  # cameras beyond reach of the area are left out
    parts = sorted((Path(url) / "parts").iterdir())
    owned: list[np.ndarray] = []
    halo = buildings = 0
    for folder in parts:
        job = read_job(url, folder.name, "unused")
        assert len(job.cameras) < n_cams  # a subset: the halo, not the layer
        if job.part is not None:  # an edge partition may have no building within reach
            assert job.buildings is not None and len(job.buildings) < n_bld
            buildings += len(job.buildings)
        owned.append(job.cameras.index.to_numpy()[job.owned])
        halo += len(job.cameras)
    every = np.sort(np.concatenate(owned))
    assert np.array_equal(every, np.arange(n_kept))  # each kept camera's view is output once
    assert buildings > 0 and n_kept <= halo < n_kept * len(parts)
    plan_size = (Path(url) / "plan.pkl").stat().st_size
    bld_size = sum(
        (f / "buildings.parquet").stat().st_size
        for f in parts
        if (f / "buildings.parquet").exists()
    )
    assert plan_size < bld_size  # the client's share is the plan, not the layers
    cells = gpd.read_parquet(next(dist.cells_dir.glob("*.parquet")))
    assert len(cells) > 0


def test_cli_stage_then_analyze_staged(cluster: str, tmp_path: Path) -> None:
    """`gridcover stage` then `gridcover analyze --dask ADDRESS --staged URL`, as a user."""
    from sample_analysis import default_result

    env = {**os.environ, "PYTHONPATH": str(SRC)}
    staged, out = tmp_path / "staged", tmp_path / "out"
    gc = [sys.executable, "-m", "gridcover"]
    run = subprocess.run(
        [*gc, "stage", "--sample", "--parent-res", "8", "--out", str(staged), "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "staged" in run.stdout and (staged / "plan.pkl").is_file()
    run = subprocess.run(
        [*gc, "analyze", "--dask", cluster, "--staged", str(staged), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    got = gpd.read_parquet(out / "grid_stats.parquet")
    want = default_result(12).grid_stats  # stage takes the default (3D) model
    assert list(got["code"]) == list(want["code"])
    for col in ("area_m2", "covered_m2", "weight", "weight_covered", "blind_spot_area_m2"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-9, err_msg=col)
    assert list(got["cameras_online"]) == list(want["cameras_online"])


def test_cli_stage_fixes_the_view_model(tmp_path: Path) -> None:
    """`gridcover stage --visibility 2d` stages a 2D run (the model is fixed at staging time;
    the default is the analysis' own, 3D), with the 3D heights recorded as given."""
    from gridcover.cli import main
    from gridcover.coverage.analysis import DEFAULT_VISIBILITY
    from gridcover.coverage.distributed.staged import _plan

    for vis, extra in (("2d", ["--visibility", "2d"]), (DEFAULT_VISIBILITY, [])):
        out = tmp_path / vis
        argv = ["stage", "--sample", "--parent-res", "7", "--out", str(out), "--no-progress"]
        assert main([*argv, *extra, "--target-height-m", "1.2"]) == 0
        config = _plan(str(out))["context"].config
        assert (config.visibility, config.target_height_m) == (vis, 1.2)
