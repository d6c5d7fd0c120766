"""Analysis endpoints and jobs on the bundled sample (real Helsinki OSM layers + derived grid).

Results are checked for consistency across the published collections with plain shapely
and pandas (cells covered iff their centroid lies in a counted view; blind-spot areas are
sums of their cells; a what-if loss equals the area seen by that camera alone).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from gridcover.api.app import create_app
from gridcover.gis import read_layer
from gridcover.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"


def _planner_client(app: Any) -> TestClient:
    """A client sending a planner's API key (analyses are writes: they need one)."""
    client = TestClient(app)
    keys = getattr(app.state, "keys", None)
    if keys is not None:
        client.headers["X-API-Key"] = keys.add("analysis tests", "planner").token
    return client


def _run(client: TestClient, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/analysis/{kind}", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/jobs/{r.json()['jobID']}")
    client.app.state.jobs.wait(r.json()["jobID"], timeout=300)  # type: ignore[attr-defined]
    job = client.get(r.headers["location"]).json()
    assert job["status"] == "successful", job
    assert job["progress"] == 100
    return job


def _collection(client: TestClient, cid: str) -> gpd.GeoDataFrame:
    r = client.get(f"/collections/{cid}/download?format=geojson")
    assert r.status_code == 200
    return gpd.read_file(r.content)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("analysis")
    settings = Settings(
        data_dir=folder,
        sample_dir=SAMPLE,
        max_cells=500_000,
        rate_limit_per_minute=0,
        sample_analyses=False,
    )
    with _planner_client(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def coverage(client: TestClient) -> dict[str, Any]:
    return _run(client, "coverage", {"res": 12})


def test_first_start_loads_the_sample(client: TestClient, tmp_path: Path) -> None:
    ids = {c["id"]: c for c in client.get("/collections").json()["collections"]}
    for name in ("cameras", "posts", "buildings", "roads", "sites"):
        src = read_layer(SAMPLE / f"{name}.geojson", name)  # what the loader stores
        assert ids[name]["gridcover:numberOfFeatures"] == len(src)
        assert ids[name]["gridcover:params"] == {"source": f"{name}.geojson"}
    grids = gpd.read_file(SAMPLE / "grids.geojson")
    for level in (1, 2, 3):
        n = int((grids["level"] == level).sum())
        assert ids[f"grids_level{level}"]["gridcover:numberOfFeatures"] == n


def test_sample_is_loaded_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sample_dir=SAMPLE, sample_analyses=False)
    with TestClient(create_app(settings)) as c:
        first = c.get("/collections/cameras").json()["gridcover:updated"]
    with TestClient(create_app(settings)) as c:
        assert c.get("/collections/cameras").json()["gridcover:updated"] == first


def test_coverage_job_records_parameters(client: TestClient, coverage: dict[str, Any]) -> None:
    assert set(coverage["collections"]) >= {"camera_views", "coverage_cells", "blind_spots",
                                            "grid_stats_level1"}  # fmt: skip
    meta = client.get("/collections/coverage_cells").json()["gridcover:params"]
    assert meta["analysis"] == "coverage" and meta["run_id"] == coverage["jobID"]
    assert meta["parameters"] == {"res": 12, "occlusion": True, "include_offline": False,
                                  "unknown_online": True, "cell_geometry": "polygon",
                                  "visibility": "3d", "target_height_m": 1.5}  # fmt: skip
    assert set(meta["inputs"]) >= {"grids", "cameras", "buildings"}
    assert meta["summary"]["cells"] == coverage["summary"]["cells"]


def test_cells_are_covered_iff_centroid_in_a_counted_view(
    client: TestClient, coverage: dict[str, Any]
) -> None:
    cells = _collection(client, "coverage_cells")
    views = _collection(client, "camera_views")
    counted = views[views["counted"]]
    assert len(cells) == coverage["summary"]["cells"]
    assert "cell" not in cells.columns and cells["h3"].str.len().eq(15).all()
    tree = shapely.STRtree(np.asarray(counted.geometry.values))
    pts = shapely.points(cells["lon"].to_numpy(), cells["lat"].to_numpy())
    hits, _ = tree.query(pts, predicate="within")
    seen = np.zeros(len(cells), bool)
    seen[hits] = True
    agree = seen == cells["covered"].to_numpy()
    # views were built in metres and published in degrees: allow rare edge flips
    assert agree.mean() > 0.998, (~agree).sum()
    assert 0 < cells["covered"].mean() < 1


def test_blind_spot_areas_are_sums_of_their_cells(
    client: TestClient, coverage: dict[str, Any]
) -> None:
    cells = _collection(client, "coverage_cells")
    spots = _collection(client, "blind_spots")
    assert len(spots) == coverage["summary"]["blind_spots"] > 0
    by_spot = cells[cells["blind_spot"] > 0].groupby("blind_spot")["area_m2"].sum()
    got = spots.set_index("blind_spot")["area_m2"]
    np.testing.assert_allclose(got.sort_index(), by_spot.sort_index(), rtol=1e-9)
    # the 3D default: a blind cell is a priority cell seen below its required detail level
    # (it may be seen, at a coarser level); read back from the published cell columns
    blind = cells[cells["blind_spot"] > 0]
    assert (blind["detail_level"] < blind["required_level"]).all()
    assert (blind["required_level"] >= 1).all()


def test_reruns_are_reproducible(client: TestClient, coverage: dict[str, Any]) -> None:
    before = _collection(client, "grid_stats_level2").drop(columns="geometry")
    _run(client, "coverage", {"res": 12})
    after = _collection(client, "grid_stats_level2").drop(columns="geometry")
    pd.testing.assert_frame_equal(before, after)


def test_whatif_disabling_a_camera_loses_what_it_alone_saw(
    client: TestClient, coverage: dict[str, Any]
) -> None:
    cells = _collection(client, "coverage_cells")
    views = _collection(client, "camera_views")
    counted = views[views["counted"]].reset_index(drop=True)
    pts = shapely.points(cells["lon"].to_numpy(), cells["lat"].to_numpy())
    only = cells["cameras"].to_numpy() == 1
    best, loss = None, 0.0
    for _, v in counted.iterrows():  # the camera whose solo cells are largest
        mine = shapely.contains_xy(v.geometry, cells["lon"], cells["lat"]) & only
        area = float(cells.loc[mine, "area_m2"].sum())
        if area > loss:
            best, loss = v["camera_id"], area
    assert best is not None and pts.size
    r = client.post("/analysis/whatif", json={"config": {"res": 12}, "disabled": [best]})
    assert r.status_code == 200, r.text
    d = r.json()["deltas"]
    assert d["cameras_counted"] == -1
    np.testing.assert_allclose(-d["covered_m2"], loss, rtol=0.02)
    assert r.json()["baseline"]["covered_m2"] == pytest.approx(coverage["summary"]["covered_m2"])


def test_whatif_adding_cameras_and_bad_ids(client: TestClient) -> None:
    body = {"config": {"res": 12}, "added": [
        {"camera_id": "new-1", "lon": 24.9405, "lat": 60.1675, "type": "dome"}]}  # fmt: skip
    r = client.post("/analysis/whatif", json=body)
    assert r.status_code == 200
    assert r.json()["deltas"]["cameras"] == 1
    assert r.json()["deltas"]["covered_m2"] >= 0
    r = client.post("/analysis/whatif", json={"disabled": ["no-such-camera"]})
    assert r.status_code == 400 and "no-such-camera" in r.json()["description"]
    r = client.post("/analysis/whatif", json={"added": [{"camera_id": "x", "lon": 200, "lat": 0}]})
    assert r.status_code == 400


def test_grid_check_job_finds_a_planted_duplicate(tmp_path: Path) -> None:
    grids = gpd.read_file(SAMPLE / "grids.geojson")
    lv3 = grids.index[grids["level"] == 3]
    grids.loc[lv3[1], "code"] = grids.loc[lv3[0], "code"]
    folder = tmp_path / "in"
    folder.mkdir()
    grids.to_file(folder / "grids.geojson")
    for name in ("cameras",):
        (folder / f"{name}.geojson").write_bytes((SAMPLE / f"{name}.geojson").read_bytes())
    settings = Settings(data_dir=tmp_path / "data", sample_dir=folder, sample_analyses=False)
    with _planner_client(create_app(settings)) as c:
        job = _run(c, "grid-check", {})
        issues = _collection(c, "grid_issues")
        dup = issues[issues["check"] == "duplicate_code"]
        assert job["summary"]["duplicate_code_errors"] >= 1
        assert grids.loc[lv3[0], "code"] in set(dup["code"])


def test_patrol_and_siting_jobs(client: TestClient) -> None:
    posts = gpd.read_file(SAMPLE / "posts.geojson")
    job = _run(client, "patrol", {"res": 10})
    zones = _collection(client, "patrol_zones")
    assert sorted(zones["post_id"]) == sorted(posts["post_id"])
    cells = _collection(client, "patrol_cells")
    assert set(cells["post_id"].dropna()) <= set(posts["post_id"])
    assert job["summary"]["balance_ratio"] >= 1.0
    job = _run(client, "siting", {"k": 4, "res": 11})
    chosen = _collection(client, "siting_proposals")
    assert len(chosen) == job["summary"]["chosen"] <= 4
    assert sorted(chosen["rank"]) == list(range(1, len(chosen) + 1))
    assert (np.diff(chosen.sort_values("rank")["marginal_gain"]) <= 1e-9).all()


def test_job_errors(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/jobs/nope").status_code == 404
    r = client.post("/analysis/coverage", json={"res": 13, "bogus": 1})
    assert r.status_code == 400
    r = client.post("/analysis/coverage", json={"res": 9.5})
    assert r.status_code == 400
    deep = b"[" * 1000 + b"]" * 1000
    r = client.post("/analysis/whatif", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "nested too deeply" in r.json()["description"]
    small = Settings(data_dir=tmp_path, sample_dir=SAMPLE, max_cells=1000, sample_analyses=False)
    with _planner_client(create_app(small)) as c:
        r = c.post("/analysis/coverage", json={"res": 13})
        assert r.status_code == 400 and "coarser" in r.json()["description"]
    empty = Settings(data_dir=tmp_path / "empty", load_sample=False)
    with _planner_client(create_app(empty)) as c:
        r = c.post("/analysis/grid-check", json={})
        c.app.state.jobs.wait(r.json()["jobID"])  # type: ignore[attr-defined]
        job = c.get(f"/jobs/{r.json()['jobID']}").json()
        assert job["status"] == "failed" and "grids" in job["error"]
    listed = client.get("/jobs").json()["jobs"]
    assert listed and all(j["status"] in ("successful", "failed") for j in listed)


def test_jobs_report_status_and_progress_while_they_run(client: TestClient) -> None:
    """A job seen through GET /jobs/{id}: accepted (queued), running at 40 %, then done."""
    import threading

    jobs = client.app.state.jobs  # type: ignore[attr-defined]
    go = threading.Event()

    def slow(job_id: str, progress: Any) -> Any:
        from gridcover.api.jobs.manager import JobOutput

        progress(0.4, "halfway")
        assert go.wait(60)
        return JobOutput(("cameras",), {"done": True})

    first = jobs.submit("probe", {"n": 1}, slow)
    queued = jobs.submit("probe", {"n": 2}, lambda jid, progress: slow(jid, progress))
    for _ in range(500):
        doc = client.get(f"/jobs/{first.id}").json()
        if doc["progress"] == 40:
            break
        go.wait(0.01)
    assert (doc["status"], doc["progress"], doc["message"]) == ("running", 40, "halfway")
    assert doc["started"] and doc["finished"] is None
    assert client.get(f"/jobs/{queued.id}").json()["status"] == "accepted"  # one worker
    go.set()
    jobs.wait(queued.id)
    doc = client.get(f"/jobs/{first.id}").json()
    assert (doc["status"], doc["progress"], doc["summary"]) == ("successful", 100, {"done": True})
    assert [lk["href"].rsplit("/", 1)[-1] for lk in doc["links"] if lk["rel"] == "results"] == [
        "cameras"
    ]


def test_coverage_progress_comes_from_the_core_in_order(client: TestClient) -> None:
    from gridcover.api.jobs import plans as an

    store = client.app.state.store  # type: ignore[attr-defined]
    seen: list[tuple[float, str]] = []
    an.compute_coverage(store, {"res": 11}, lambda f, m: seen.append((f, m)))  # no write
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] > 0 and fractions[-1] < 1
    assert len({m for _, m in seen}) >= 4  # the core's steps, not one opaque message


def test_whatif_reaim_and_add_equal_a_full_run_of_the_changed_layer(
    client: TestClient, coverage: dict[str, Any]
) -> None:
    """KPI deltas of the incremental what-if equal a full coverage run minus the baseline."""
    from gridcover.coverage.analysis import AnalysisConfig, run_analysis

    store = client.app.state.store  # type: ignore[attr-defined]
    layers = {k: store.read_layer(k) if store.has_layer(k) else None for k in (
        "grids", "cameras", "buildings", "roads", "sites", "posts", "incidents")}  # fmt: skip
    cams = layers["cameras"]
    assert cams is not None
    aimed = cams[(cams["fov_deg"] < 180) & cams["azimuth_deg"].notna()]
    cid = str(aimed["camera_id"].iloc[0])
    new_az = (float(aimed["azimuth_deg"].iloc[0]) + 180.0) % 360.0
    body = {
        "config": {"res": 12},
        "reaimed": {cid: {"azimuth_deg": new_az}},
        "added": [{"camera_id": "new-1", "lon": 24.9405, "lat": 60.1675, "type": "dome",
                   "range_m": 30}],
    }  # fmt: skip
    r = client.post("/analysis/whatif", json=body)
    assert r.status_code == 200, r.text
    got = r.json()

    changed = cams.copy()
    changed.loc[changed["camera_id"] == cid, "azimuth_deg"] = new_az
    extra = gpd.GeoDataFrame(
        {"camera_id": ["new-1"], "type": ["dome"], "status": ["online"], "range_m": [30.0]},
        geometry=[shapely.Point(24.9405, 60.1675)], crs="EPSG:4326",
    )  # fmt: skip
    changed = gpd.GeoDataFrame(pd.concat([changed, extra], ignore_index=True), crs="EPSG:4326")
    cfg = AnalysisConfig(res=12)
    full = run_analysis(
        layers["grids"], changed, layers["buildings"], layers["roads"], layers["sites"],
        layers["posts"], layers["incidents"], config=cfg,
    )  # fmt: skip
    base = coverage["summary"]
    keys = ("covered_m2", "covered_pct", "priority_weighted_pct", "blind_spots",
            "blind_spot_area_m2", "cameras", "cameras_counted",
            "grids_missing_targets")  # fmt: skip
    for key in keys:
        assert got["scenario"][key] == pytest.approx(full.summary[key], rel=1e-9), key
        assert got["deltas"][key] == pytest.approx(full.summary[key] - base[key], abs=1e-6), key
    assert got["deltas"]["covered_m2"] != 0  # the change moved something
    assert got["views_recomputed"] == 2
