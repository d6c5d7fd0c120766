"""Cameras whose ledger says GB/T 28181 PositionType 8 (校园周边), 9 (治安复杂区域) or 10
(交通干线) declare priority areas around them; codes 1-7 add nothing.

The ledger is a GBK CSV with Chinese headers made from the real sample cameras moved to
Shenzhen (tests/_china_ledger.py, GCJ-02 positions), with a 位置类型 column set on some of
them. The cells each class weighs are checked against an independent computation: the
geodesic distance (pyproj.Geod) from each H3 cell's centre (h3.cell_to_latlng) to the
declaring cameras, read back through GDAL (pyogrio) for the CLI run.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pyogrio
import pyproj
import pytest

from _china_ledger import ledger_rows, moved_layers, truth_cameras
from gridcover.cli import main
from gridcover.coverage import run_analysis
from gridcover.coverage.analysis import AnalysisConfig
from gridcover.coverage.weights import load_weights
from gridcover.gis import read_layer

# PositionType per camera row: 8/9/10 on a few, 1-7 on others, none on the rest
CODES = {3: 8, 40: 8, 77: 8, 12: 9, 90: 9, 150: 9, 25: 10, 60: 10, 130: 10, 200: 10}
CODES |= {i: 1 + i % 7 for i in range(100, 221, 9) if i not in CODES}
CLASSES = {8: ("w_sites", "school_radius_m"), 9: ("w_incidents", "complex_radius_m")}
CLASSES |= {10: ("w_roads", "trunk_radius_m")}
BAND_M = 0.5  # metric-CRS vs geodesic distance, at most a few cm at 100 m


def _write_ledger(path: Path, cams: gpd.GeoDataFrame, codes: dict[int, int]) -> Path:
    rows = ledger_rows(cams)
    for i, r in enumerate(rows):
        r["位置类型"] = codes.get(i, "")
    head = list(rows[0])
    text = ",".join(head) + "\n" + "".join(",".join(str(r[h]) for h in head) + "\n" for r in rows)
    path.write_bytes(text.encode("gbk"))
    return path


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("declared")
    paths = moved_layers(folder)
    truth = truth_cameras()
    paths["ledger"] = _write_ledger(folder / "台账.csv", truth, CODES)
    paths["plain"] = _write_ledger(folder / "plain.csv", truth, {})
    return paths


def _distances(cells_hex: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Geodesic metres from each cell centre to the nearest of the points."""
    geod = pyproj.Geod(ellps="WGS84")
    hexes = [c if isinstance(c, str) else h3.int_to_str(int(c)) for c in cells_hex]
    ll = np.array([h3.cell_to_latlng(c) for c in hexes])
    out = np.full(len(ll), np.inf)
    for x, y in zip(lon, lat, strict=True):
        _, _, d = geod.inv(ll[:, 1], ll[:, 0], np.full(len(ll), x), np.full(len(ll), y))
        out = np.minimum(out, d)
    return out


def _check_classes(cells: gpd.GeoDataFrame, cams: gpd.GeoDataFrame) -> None:
    """Each class weighs exactly the cells within its radius of its declaring cameras."""
    w = load_weights()
    want = {8: w.site_kinds["school"], 9: w.complex_weight, 10: w.road_classes["trunk"]}
    code = cams["position_type"].to_numpy(float)
    hexes = cells["cell"].astype(str).to_numpy()
    for c, (col, radius_key) in CLASSES.items():
        sel = code == c
        assert sel.sum() >= 3
        d = _distances(hexes, cams.geometry.x[sel].to_numpy(), cams.geometry.y[sel].to_numpy())
        r = getattr(w, radius_key)
        got = cells[col].to_numpy(float)
        inside, outside = d < r - BAND_M, d > r + BAND_M
        assert inside.sum() > 20  # a real disc of cells per class
        assert np.all(got[inside] == want[c]), col
        assert np.all(got[outside] == 0.0), col


def test_api_declared_classes_weigh_their_discs(city: dict[str, Path]) -> None:
    grids = read_layer(city["grids"], "grids")
    cams = read_layer(city["ledger"], "cameras", coord_sys="gcj02")
    assert cams["position_type"].notna().sum() == len(CODES)
    res = run_analysis(grids, cams, config=AnalysisConfig(res=12, visibility="2d"))
    cells = res.cells.assign(cell=[h3.int_to_str(int(c)) for c in res.cells["cell"]])
    kept = cams[cams["camera_id"].isin(res.views["camera_id"])]
    _check_classes(cells, kept)
    note = next(n for n in res.notes if "PositionType 8/9/10" in n)
    n8, n9, n10 = (int((kept["position_type"] == c).sum()) for c in (8, 9, 10))
    assert note.startswith(f"{n8 + n9 + n10} cameras declare PositionType 8/9/10: {n8} school")
    assert f"{n9} complex public-security areas" in note and f"{n10} trunk roads" in note
    # no other layer: every open cell still weighs 1 (uniform); declared cells weigh more
    assert res.state.priority.uniform
    plain = run_analysis(
        grids,
        read_layer(city["plain"], "cameras", coord_sys="gcj02"),
        config=AnalysisConfig(res=12, visibility="2d"),
    )
    base = plain.cells["weight"].to_numpy()
    comp = cells[["w_sites", "w_incidents", "w_roads"]].to_numpy().sum(axis=1)
    assert np.array_equal(cells["weight"].to_numpy(), np.where(comp > 0, comp, base))
    # codes 1-7 add nothing: cells near them but far from every 8/9/10 camera stay at 1
    lo = kept[kept["position_type"].between(1, 7)]
    hi = kept[kept["position_type"].between(8, 10)]
    near_lo = _distances(cells["cell"].to_numpy(), lo.geometry.x, lo.geometry.y) < 60
    far_hi = _distances(cells["cell"].to_numpy(), hi.geometry.x, hi.geometry.y) > 110
    sel = near_lo & far_hi & ~cells["in_building"].to_numpy(bool)
    assert sel.sum() > 50
    assert np.all(cells["weight"].to_numpy()[sel] == 1.0)
    assert not any("PositionType" in n for n in plain.notes)


def test_cli_declared_areas_join_the_roads_priority(
    city: dict[str, Path], tmp_path: Path, capsys
) -> None:
    runs = {}
    for name in ("ledger", "plain"):
        out = tmp_path / name
        argv = ["analyze", "--grids", city["grids"], "--cameras", city[name], "--roads"]
        argv += [city["roads"], "--coord-sys", "cameras:gcj02", "--visibility", "2d"]
        assert main([*map(str, argv), "--out", str(out), "--no-progress"]) == 0
        runs[name] = pyogrio.read_dataframe(out / "cells.geojson")
        report = (out / "report.txt").read_text(encoding="utf-8")
        assert ("declare PositionType 8/9/10" in report) == (name == "ledger")
    assert "declare PositionType 8/9/10" in capsys.readouterr().out
    got, plain = runs["ledger"], runs["plain"]
    assert list(got["cell"]) == list(plain["cell"])
    cams = read_layer(city["ledger"], "cameras", coord_sys="gcj02")
    w = load_weights()
    # the roads layer now weighs too: each component is the larger of the two sources
    code = cams["position_type"].to_numpy(float)
    for c, (col, radius_key) in CLASSES.items():
        sel = code == c
        d = _distances(got["cell"].to_numpy(), cams.geometry.x[sel], cams.geometry.y[sel])
        r = getattr(w, radius_key)
        declared = {8: w.site_kinds["school"], 9: w.complex_weight, 10: w.road_classes["trunk"]}
        own = plain[col].to_numpy(float)
        inside, outside = d < r - BAND_M, d > r + BAND_M
        assert np.allclose(got[col].to_numpy(float)[inside], np.maximum(own[inside], declared[c]))
        assert np.array_equal(got[col].to_numpy(float)[outside], own[outside])
    # the combine rule (sum) is the weights': total = components' sum; priority from it
    comps = got[["w_roads", "w_intersections", "w_sites", "w_incidents"]].to_numpy(float)
    total = np.where(got["in_building"].astype(bool), 0.0, comps.sum(axis=1))
    assert np.allclose(got["weight"].to_numpy(float), total)
    new = got["priority"].astype(bool) & ~plain["priority"].astype(bool)
    assert new.sum() > 50  # declared areas off the roads became priority cells


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dask_run_weighs_the_declared_areas_like_one_machine(
    city: dict[str, Path], tmp_path: Path
) -> None:
    """Partitions (parent res 9: many, each smaller than a school radius) see the declaring
    cameras of their halo and give the single machine's weights, cell for cell."""
    from gridcover.coverage.distributed.client import connect, run_distributed
    from gridcover.gis.analysis_folder import read_parts

    grids = read_layer(city["grids"], "grids")
    cams = read_layer(city["ledger"], "cameras", coord_sys="gcj02")
    roads = read_layer(city["roads"], "roads")
    cfg = AnalysisConfig(res=12, visibility="2d")
    single = run_analysis(grids, cams, roads=roads, config=cfg)
    with connect("local:2") as client:
        dist = run_distributed(
            grids, cams, roads=roads, client=client, out_dir=tmp_path, config=cfg, parent_res=9
        )
    cells = read_parts(dist.cells_dir).reset_index(drop=True)
    assert len(dist.partitions) > 20
    assert np.array_equal(cells["cell"].to_numpy(), single.cells["cell"].to_numpy())
    for col in ("w_roads", "w_sites", "w_incidents", "weight", "priority"):
        assert np.array_equal(cells[col].to_numpy(), single.cells[col].to_numpy()), col
    assert (single.cells["w_incidents"] > 0).sum() > 20
    assert any("PositionType 8/9/10" in n for n in dist.notes)


def test_radius_and_weight_come_from_the_weights_file(
    city: dict[str, Path], tmp_path: Path
) -> None:
    from gridcover.errors import SchemaError

    path = tmp_path / "w.toml"
    path.write_text("[positions]\nschool_radius_m = 45.0\ncomplex_weight = 2.5\n", "utf-8")
    w = load_weights(path)
    assert (w.school_radius_m, w.complex_weight, w.trunk_radius_m) == (45.0, 2.5, 30.0)
    grids = read_layer(city["grids"], "grids")
    cams = read_layer(city["ledger"], "cameras", coord_sys="gcj02")
    res = run_analysis(grids, cams, config=AnalysisConfig(res=12, visibility="2d", weights=w))
    cells = res.cells.assign(cell=[h3.int_to_str(int(c)) for c in res.cells["cell"]])
    kept = cams[cams["camera_id"].isin(res.views["camera_id"])]
    for code, col, r, want in ((8, "w_sites", 45.0, 8.0), (9, "w_incidents", 100.0, 2.5)):
        sel = kept["position_type"].to_numpy(float) == code
        d = _distances(cells["cell"].to_numpy(), kept.geometry.x[sel], kept.geometry.y[sel])
        got = cells[col].to_numpy(float)
        assert (d < r - BAND_M).sum() > 10
        assert np.all(got[d < r - BAND_M] == want) and np.all(got[d > r + BAND_M] == 0.0)
    assert "45 m" in next(n for n in res.notes if "PositionType" in n)
    path.write_text("[positions]\nschool_m = 45.0\n", "utf-8")
    with pytest.raises(SchemaError, match=r"w\.toml: unknown key positions\.school_m; allowed"):
        load_weights(path)
    path.write_text("[positions]\ntrunk_radius_m = -5\n", "utf-8")
    with pytest.raises(SchemaError, match=r"positions\.trunk_radius_m = -5 must not be negative"):
        load_weights(path)


def test_api_coverage_job_weighs_the_uploaded_ledgers_declared_areas(
    city: dict[str, Path], tmp_path: Path
) -> None:
    """The ledger uploaded to the service (its GCJ-02 settled against the stored roads) feeds
    the coverage job's priority exactly as the Python API's run on the same layers."""
    from fastapi.testclient import TestClient

    import api_write_data as w
    from gridcover.api.app import create_app

    settings = w.settings_for("gpkg", tmp_path / "store")
    admin = {"X-API-Key": w.add_key(settings, "admin")}
    with TestClient(create_app(settings)) as client:
        for kind in ("grids", "roads", "ledger"):
            path = city[kind]
            r = client.put(
                f"/layers/{'cameras' if kind == 'ledger' else kind}",
                files={"file": (path.name, path.read_bytes())},
                headers=admin,
            )
            assert r.status_code in (200, 201), r.text
        r = client.post("/analysis/coverage", json={"res": 12, "visibility": "2d"}, headers=admin)
        assert r.status_code == 201, r.text
        client.app.state.jobs.wait(r.json()["jobID"], timeout=600)  # type: ignore[attr-defined]
        job = client.get(f"/jobs/{r.json()['jobID']}", headers=admin).json()
        assert job["status"] == "successful", job
        got = client.get(
            "/collections/coverage_cells/download?format=geojson", headers=admin
        ).content
    api = gpd.read_file(got).sort_values("h3").reset_index(drop=True)
    notes = [n for n in job["summary"]["notes"] if "PositionType 8/9/10" in n]
    assert len(notes) == 1
    grids = read_layer(city["grids"], "grids")
    cams = read_layer(city["ledger"], "cameras", coord_sys="gcj02")
    roads = read_layer(city["roads"], "roads")
    res = run_analysis(grids, cams, roads=roads, config=AnalysisConfig(res=12, visibility="2d"))
    ref = res.cells.sort_values("h3").reset_index(drop=True)
    assert api["h3"].astype(str).tolist() == ref["h3"].astype(str).tolist()
    for col in ("w_sites", "w_incidents", "w_roads", "weight"):
        np.testing.assert_allclose(api[col].to_numpy(float), ref[col].to_numpy(float), err_msg=col)
    assert (ref["w_incidents"] > 0).sum() > 20 and notes[0] in res.notes


def test_siting_weighs_the_declared_areas(city: dict[str, Path]) -> None:
    """The siting door passes its existing cameras to the priority model too: the weight the
    chosen sites close is measured with the declared areas, which only raise weights. The
    cameras are set offline (a declaration holds whatever the status) so that the discs are
    not already covered by the cameras standing in them."""
    from gridcover.coverage.siting.plan import SitingConfig, plan_siting

    grids = read_layer(city["grids"], "grids")
    roads = read_layer(city["roads"], "roads", coord_sys="gcj02")
    cfg = SitingConfig(k=3, visibility="2d")
    runs = {
        name: plan_siting(
            grids,
            cfg,
            roads=roads,
            cameras=read_layer(city[name], "cameras", coord_sys="gcj02").assign(status="offline"),
        )
        for name in ("ledger", "plain")
    }
    got, plain = runs["ledger"].result, runs["plain"].result
    assert got.objective > plain.objective > 0
    assert got.upper_bound > plain.upper_bound
