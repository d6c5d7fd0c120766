"""``gridcover serve`` with no configuration: the real command, on a free loopback port.

Only ``GRIDCOVER_DATA_DIR`` (a temporary folder) and ``--port`` are given. The first start
creates the GeoPackage store, loads the bundled sample and queues its analyses as jobs; the
test then reads the landing page, the collection list (every collection issue 4 names), an
items page, follows the jobs to the end, and stops the server. Expected feature counts come
from reading the sample files with the foundation's reader, not from the server. A second
test starts the command on PostGIS (``--database-url``, listening on every interface) and
checks that it names the database, not a GeoPackage, and warns that reads are open.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import httpx
import pytest

from gridcover.gis import read_layer

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"
RESULTS = ("camera_views", "coverage_cells", "blind_spots", "grid_stats_level1",
           "grid_stats_level2", "grid_stats_level3", "grid_issues", "patrol_zones",
           "patrol_cells", "siting_proposals", "siting_views")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(data_dir: Path, *args: str, **env: str) -> Iterator[tuple[str, Path]]:
    """Run ``python -m gridcover serve --port P [args]``; yield (base URL, file of its output)."""
    port = _free_port()
    out = data_dir.parent / f"serve-{port}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRIDCOVER_")}
    environ.update({"GRIDCOVER_DATA_DIR": str(data_dir), **env})
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gridcover", "serve", "--port", str(port), *args],
            env=environ, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gridcover serve exited: {out.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/", timeout=2).status_code in (200, 401):  # 401: keys
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gridcover serve did not answer within 90 s")
            time.sleep(0.2)
        yield base, out
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl+C, as a user stops it
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_jobs(client: httpx.Client, seconds: float = 240) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        jobs = client.get("/jobs").json()["jobs"]
        if all(j["status"] in ("successful", "failed") for j in jobs) or (
            time.monotonic() > deadline
        ):
            return jobs
        time.sleep(0.5)


def test_serve_with_no_configuration_serves_the_sample(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve(data) as (base, out), httpx.Client(base_url=base, timeout=60) as client:
        landing = client.get("/")
        assert landing.status_code == 200
        rels = {lk["rel"]: lk["href"] for lk in landing.json()["links"]}
        assert rels["data"] == f"{base}/collections"
        assert client.get(rels["conformance"]).status_code == 200

        # first start: the analyses of the sample are jobs, with status and progress
        jobs = _wait_for_jobs(client)
        assert sorted(j["processID"] for j in jobs) == [
            "coverage", "grid-check", "patrol", "siting"]  # fmt: skip
        for job in jobs:
            assert (job["status"], job["progress"]) == ("successful", 100), job

        body = client.get("/collections").json()
        ids = {c["id"]: c for c in body["collections"]}
        for kind in ("cameras", "posts", "buildings", "roads", "sites"):
            assert ids[kind]["gridcover:numberOfFeatures"] == len(
                read_layer(SAMPLE / f"{kind}.geojson", kind)
            )
        grids = gpd.read_file(SAMPLE / "grids.geojson")
        for level in (1, 2, 3):
            n = int((grids["level"] == level).sum())
            assert ids[f"grids_level{level}"]["gridcover:numberOfFeatures"] == n > 0
        for cid in RESULTS:
            assert ids[cid]["gridcover:params"]["analysis"] in (
                "coverage", "grid-check", "patrol", "siting")  # fmt: skip
            if cid != "grid_issues":  # the sample's grids are clean: an empty issue table
                assert ids[cid]["gridcover:numberOfFeatures"] > 0, cid
        check = next(j for j in jobs if j["processID"] == "grid-check")["summary"]
        assert ids["grid_issues"]["gridcover:numberOfFeatures"] == (
            check["errors"] + check["warnings"])  # fmt: skip
        coverage = next(j for j in jobs if j["processID"] == "coverage")
        cells = ids["coverage_cells"]["gridcover:numberOfFeatures"]
        assert cells == coverage["summary"]["cells"] > 1000

        # the large cell layer is paged: the default page, next links, never the whole layer
        page = client.get("/collections/coverage_cells/items")
        assert page.headers["content-type"] == "application/geo+json"
        doc = page.json()
        assert doc["numberMatched"] == cells and doc["numberReturned"] == 10
        nxt = next(lk["href"] for lk in doc["links"] if lk["rel"] == "next")
        assert "offset=10" in nxt and client.get(nxt).json()["numberReturned"] == 10

        cams = client.get("/collections/cameras/items?limit=5").json()
        assert cams["numberReturned"] == 5
        assert all(f["geometry"]["type"] == "Point" for f in cams["features"])
    text = out.read_text()
    store = data / "gridcover.gpkg"
    assert f"serving the GeoPackage {store} on {base}" in text
    assert "gridcover: warning" not in text  # open reads, but only on loopback
    assert store.is_file()


@pytest.mark.postgis
def test_serve_on_postgis_names_the_database_not_a_geopackage(tmp_path: Path) -> None:
    from postgis_server import fresh_database_url

    url = fresh_database_url()
    data = tmp_path / "data"
    env = {"GRIDCOVER_SAMPLE_ANALYSES": "false"}
    with serve(data, "--database-url", url, "--host", "0.0.0.0", **env) as (base, out):
        ids = [c["id"] for c in httpx.get(base + "/collections").json()["collections"]]
        assert {"cameras", "grids_level1", "roads"} <= set(ids)
    text = out.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("gridcover: serving"))
    assert "the PostGIS database postgresql://" in line and ".gpkg" not in line
    assert "warning: anyone who reaches 0.0.0.0" in text  # open reads on every interface
    user_info = url.split("://", 1)[1].split("@", 1)[0]
    if ":" in user_info:  # a password in the URL is never printed
        assert user_info.split(":", 1)[1] not in text
    assert not (data / "gridcover.gpkg").exists()
