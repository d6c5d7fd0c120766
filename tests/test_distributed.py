"""The coverage analysis on a Dask LocalCluster equals the single-machine run.

Two worker processes (one thread each). On the bundled Helsinki sample and on a synthetic
city whose cameras straddle H3 partition edges, the partitioned run must give the same
per-cell table (every column, bit for bit: cell ids, counts, weights, blind-spot ids),
the same blind spots (cell sets, weights, areas, outlines, nearest camera/post) and the
same per-grid statistics and summary. Float *sums* over many cells (grid areas, weights)
are added in another order (per partition, then across partitions), so they are compared
with a relative tolerance of 1e-9 (the actual differences are ~1e-15). The blind-spot
clusters are also checked against an independent networkx connected-components run over
the blind cells of the partitioned output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from _synthetic_city import synthetic_city
from gridcover.coverage.analysis import AnalysisResult, run_analysis
from gridcover.coverage.cells import cells_in_polygon, metric_crs_for
from gridcover.coverage.distributed.client import (
    DistributedResult,
    connect,
    parse_dask_spec,
    run_distributed,
)
from gridcover.coverage.distributed.plan import h3_parent, partition_cells, plan_partitions
from gridcover.errors import InputError
from gridcover.gis.analysis_folder import read_analysis_dir, read_parts
from sample_analysis import default_result, sample_layers, sample_result

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    with connect("local:2") as c:
        assert len(c.nthreads()) == 2
        yield c


@pytest.fixture(scope="module")
def sample_runs(client, tmp_path_factory) -> tuple[AnalysisResult, DistributedResult]:
    out = tmp_path_factory.mktemp("sample")
    # every default (the 3D model) on both sides: Dask and one machine give the same cells
    dist = run_distributed(**sample_layers(), client=client, out_dir=out, parent_res=8)
    return default_result(12), dist


@pytest.fixture(scope="module")
def city_runs(client, tmp_path_factory) -> tuple[AnalysisResult, DistributedResult, dict]:
    layers = synthetic_city(parent_res=8)
    out = tmp_path_factory.mktemp("city")
    dist = run_distributed(**layers, client=client, out_dir=out, parent_res=8)
    return run_analysis(**layers), dist, layers


def _same_column(a: pd.Series, b: pd.Series) -> bool:
    return pd.Series(a.to_numpy()).equals(pd.Series(b.to_numpy()))


def assert_cells_equal(
    single: AnalysisResult, dist: DistributedResult, close: tuple[str, ...] = ()
) -> None:
    """Every column bit for bit, except ``close`` ones (relative 1e-12)."""
    cells = read_parts(dist.cells_dir).reset_index(drop=True)
    ref = single.cells
    assert list(cells.columns) == list(ref.columns)
    assert np.array_equal(cells["cell"].to_numpy(), ref["cell"].to_numpy())  # sorted ids
    for col in ref.columns:
        if col == ref.geometry.name:
            assert cells.geometry.geom_equals_exact(ref.geometry, 0).all()
        elif col in close:
            np.testing.assert_allclose(cells[col], ref[col], rtol=1e-12, atol=0, err_msg=col)
        else:
            assert _same_column(cells[col], ref[col]), col


def assert_blind_spots_equal(single: AnalysisResult, dist: DistributedResult) -> None:
    a, b = dist.blind_spots, single.blind_spots
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) > 0
    for col in (
        "blind_spot",
        "grid_code",
        "cells",
        "nearest_camera",
        "nearest_offline_camera",
        "nearest_post",
    ):
        assert _same_column(a[col], b[col]), col
    for col in (
        "weight",
        "area_m2",
        "nearest_camera_m",
        "nearest_offline_camera_m",
        "nearest_post_m",
    ):
        assert np.array_equal(a[col].to_numpy(), b[col].to_numpy(), equal_nan=True), col
    assert a.geometry.geom_equals_exact(b.geometry, 0).all()
    # cell sets: the cells of blind spot k are the same cells in both runs
    cells = read_parts(dist.cells_dir, columns=["cell", "blind_spot", "geometry"])
    ref = single.cells
    got = cells.groupby("blind_spot")["cell"].apply(frozenset)
    want = ref.groupby("blind_spot")["cell"].apply(frozenset)
    assert got.equals(want)


def assert_stats_equal(single: AnalysisResult, dist: DistributedResult) -> None:
    a, b = dist.grid_stats, single.grid_stats
    assert list(a.columns) == list(b.columns)
    for col in b.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if col == b.geometry.name:
            assert a.geometry.geom_equals_exact(b.geometry, 0).all()
        elif y.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-6, equal_nan=True, err_msg=col)
        else:
            assert _same_column(a[col], b[col]), col
    for key, want in single.summary.items():
        got = dist.summary[key]
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-9, nan_ok=True), key
        else:
            assert got == want, key


def assert_views_equal(single: AnalysisResult, dist: DistributedResult) -> None:
    """Same rows and attributes; polygons equal to 1e-6 m (the occlusion code rounds ray
    bearings through camera-position-dependent keys, so a camera's vertices can differ in
    the last bit with the set of cameras it is computed with)."""
    views = read_parts(dist.views_dir)
    ref = single.views
    assert np.array_equal(views.index.to_numpy(), ref.index.to_numpy())
    for col in ref.columns:
        if col == ref.geometry.name:
            continue
        x, y = views[col].to_numpy(), ref[col].to_numpy()
        if y.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=1e-9, equal_nan=True, err_msg=col)
        else:
            assert _same_column(views[col], ref[col]), col
    crs = single.state.crs
    got = np.asarray(views.geometry.to_crs(crs).values)
    want = np.asarray(single.state.views.geometry.values)
    assert np.nanmax(shapely.hausdorff_distance(got, want)) < 1e-6


def test_h3_parent_matches_h3() -> None:
    rng = np.random.default_rng(0)
    lat, lng = rng.uniform(-80, 80, 300), rng.uniform(-180, 180, 300)
    for res, pres in ((12, 6), (12, 8), (9, 0), (13, 12)):
        cells = np.array([h3n.latlng_to_cell(a, b, res) for a, b in zip(lat, lng, strict=True)])
        want = [h3n.cell_to_parent(int(c), pres) for c in cells]
        assert np.array_equal(h3_parent(cells.astype(np.int64), pres), np.array(want, np.int64))


def test_partitions_own_every_cell_exactly_once() -> None:
    grids = sample_layers()["grids"]
    area = shapely.union_all(np.asarray(grids.geometry.values))
    crs = metric_crs_for(area.centroid.x, area.centroid.y)
    want = cells_in_polygon(area, 12)
    for pres in (7, 9):
        parts = plan_partitions(area, 12, pres, crs)
        owned = [partition_cells(area, p, 12) for p in parts]
        got = np.concatenate(owned)
        assert len(parts) > 3 and any(p.interior for p in parts) == (pres == 9)
        assert np.array_equal(got, want)  # disjoint, complete, and in ascending order
        for p, cells in zip(parts, owned, strict=True):
            assert (h3_parent(cells, pres) == p.parent).all()


@pytest.mark.parametrize(
    ("lat", "lon", "res", "pres"),
    [(22.6, 114.1, 12, 6), (59.9, 10.7, 11, 5), (-33.9, 151.2, 12, 10)],
)
def test_partition_region_holds_its_cells_and_little_more(lat, lon, res, pres) -> None:
    # every descendant centroid (h3's own centre, projected here) lies in the region, and the
    # region is the descendants' outline plus a thin margin, not the buffered parent hexagon
    area = shapely.box(lon - 0.001, lat - 0.001, lon + 0.001, lat + 0.001)
    crs = metric_crs_for(lon, lat)
    to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    parts = plan_partitions(area, res, pres, crs)
    home = h3n.latlng_to_cell(lat, lon, pres)
    for p in [q for q in parts if q.parent == home] + parts[:1]:
        kids = h3n.cell_to_children(p.parent, res)
        ll = np.array([h3n.cell_to_latlng(int(c)) for c in kids])
        x, y = to_m.transform(ll[:, 1], ll[:, 0])
        assert shapely.contains_xy(p.region, x, y).all()
        owned_m2 = h3.cell_area(h3.int_to_str(p.parent), unit="m^2")
        # the margin is two cell edges + 0.2 x the outline's edge: thin at the default depth
        assert 1.0 < p.region.area / owned_m2 < (1.1 if res - pres == 6 else 2.0)


def test_sample_equals_single_machine(sample_runs) -> None:
    single, dist = sample_runs
    assert len(dist.partitions) >= 10
    assert dist.spanning_blind_spots > 0 and dist.approximate_blind_spots == 0
    assert_cells_equal(single, dist)
    assert_blind_spots_equal(single, dist)
    assert_stats_equal(single, dist)
    assert_views_equal(single, dist)
    assert dist.notes == single.notes


def test_synthetic_city_cameras_straddle_edges(city_runs) -> None:
    single, dist, layers = city_runs
    cams = layers["cameras"]
    crs = single.state.crs
    views = single.state.views
    # a view crosses a partition edge when the cells it covers have several parents
    pairs = single.state.coverage
    parents = h3_parent(single.state.cells.h3[pairs.cell_idx], 8)
    per_cam = pd.DataFrame({"cam": pairs.camera_idx, "p": parents}).groupby("cam")["p"].nunique()
    assert (per_cam > 1).sum() >= 60  # 76 with seed 7: a quarter of the cameras
    left = 0 if single.state.beyond is None else len(single.state.beyond)
    assert len(views) == len(cams) - left and crs is not None  # beyond reach: left out
    assert dist.spanning_blind_spots > 0
    assert (dist.partitions["cells"] > 0).sum() >= 8


def test_synthetic_city_equals_single_machine(city_runs) -> None:
    """As the sample, plus area incidents across partition edges: their count is shared over
    all their cells, so a partition gets count x (its cells' area / all cells' area) and
    the shares can differ in the last bit (measured: ≤ 7e-16 relative)."""
    single, dist, _ = city_runs
    assert_cells_equal(single, dist, close=("weight", "w_incidents"))
    assert_blind_spots_equal(single, dist)
    assert_stats_equal(single, dist)
    assert_views_equal(single, dist)
    assert dist.notes == single.notes and "5 camera(s) lie beyond reach" in dist.notes[0]
    # the 5 placed 40-1500 m outside are each farther than their range (issue 12: left out)
    assert list(single.state.beyond["camera_id"]) == [f"c{i:04d}" for i in range(320, 325)]
    assert (single.state.beyond["distance_m"] > single.state.beyond["reach_m"]).all()


def test_blind_spots_are_h3_components(city_runs) -> None:
    """Independent check: networkx components of the blind cells (H3 adjacency) of the
    partitioned output are exactly its blind spots."""
    _, dist, _ = city_runs
    cells = read_parts(dist.cells_dir, columns=["cell", "blind_spot", "geometry"])
    blind = cells[cells["blind_spot"] > 0]
    ids = set(blind["cell"].tolist())
    g = nx.Graph()
    g.add_nodes_from(ids)
    for c in ids:
        g.add_edges_from((c, int(n)) for n in h3n.grid_disk(c, 1) if int(n) in ids and n != c)
    label = dict(zip(blind["cell"], blind["blind_spot"], strict=True))
    comps = list(nx.connected_components(g))
    assert len(comps) == len(dist.blind_spots)
    for comp in comps:
        assert len({label[c] for c in comp}) == 1


@pytest.mark.parametrize("limits", [{"gather_limit": 0}, {"gather_budget": 0}])
def test_partial_sum_merge_agrees(client, sample_runs, tmp_path, limits) -> None:
    """With ``gather_limit=0`` (or no ``gather_budget``) blind spots crossing edges are
    merged from per-partition sums and outline unions: same cells and ranks, sums and
    outlines to 1e-9."""
    single, _ = sample_runs
    dist = run_distributed(
        **sample_layers(), client=client, out_dir=tmp_path, parent_res=8, **limits
    )
    assert dist.approximate_blind_spots == dist.spanning_blind_spots > 0
    assert_cells_equal(single, dist)
    a, b = dist.blind_spots, single.blind_spots
    for col in (
        "weight",
        "area_m2",
        "nearest_camera_m",
        "nearest_offline_camera_m",
        "nearest_post_m",
    ):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-6, err_msg=col)
    sym = shapely.area(shapely.symmetric_difference(a.geometry.values, b.geometry.values))
    assert (sym <= 1e-9 * shapely.area(b.geometry.values)).all()


def test_output_is_a_partitioned_geoparquet_dataset(sample_runs) -> None:
    import dask_geopandas

    _, dist = sample_runs
    ddf = dask_geopandas.read_parquet(dist.cells_dir)
    assert ddf.npartitions == len(list(dist.cells_dir.glob("*.parquet"))) > 1
    assert len(ddf) == dist.summary["cells"]
    costs = dist.partitions
    assert costs["cells"].sum() == dist.summary["cells"]
    assert costs["cells"].max() < dist.summary["cells"]  # no partition holds all cells


def test_dask_spec() -> None:
    assert parse_dask_spec("local") == ("local", None)
    assert parse_dask_spec("local:3") == ("local", 3)
    assert parse_dask_spec("tcp://10.0.0.5:8786") == ("tcp", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "spark://h:1", ""):
        with pytest.raises(InputError, match="local:N"):
            parse_dask_spec(bad)


def test_cli_dask_option(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "gridcover", "analyze", "--sample", "--out", str(out)]
    cmd += ["--dask", "local:2", "--parent-res", "8", "--no-progress", "--visibility", "2d"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Distributed run:" in run.stdout
    for name in ("blind_spots.geojson", "grid_stats.parquet", "summary.csv", "partitions.csv"):
        assert (out / name).is_file(), name
    stats = gpd.read_parquet(out / "grid_stats.parquet")
    ref = sample_result(12).grid_stats
    np.testing.assert_allclose(stats["covered_m2"], ref["covered_m2"], rtol=1e-9)
    assert len(list((out / "cells").glob("*.parquet"))) > 1

    # the map and the report read the partitioned cells and views, not only the small tables
    html = tmp_path / "map.html"
    from gridcover.cli import main

    assert main(["map", str(out), "--lang", "en", "--out", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    n_cells = sum(len(gpd.read_parquet(f)) for f in (out / "cells").glob("*.parquet"))
    tables = read_analysis_dir(out)
    assert len(tables.layers["cells"]) == n_cells == len(ref_cells := sample_result(12).cells)
    assert len(tables.layers["views"]) == len(sample_result(12).views)
    assert sorted(tables.layers["cells"]["h3"]) == sorted(ref_cells["h3"])
    for label in ("Coverage cells", "Camera views"):
        assert label in page, label
    small = read_analysis_dir(out, max_part_rows=10)
    assert small.layers["cells"] is None and any("cells/ holds" in n for n in small.notes)


def test_without_buildings_roads_or_sites_equals_single(client, tmp_path) -> None:
    """Uniform priority (every open cell weighs 1): large blind spots across many edges."""
    layers = sample_layers()
    kw = {"grids": layers["grids"], "cameras": layers["cameras"]}
    single = run_analysis(**kw)
    dist = run_distributed(**kw, client=client, out_dir=tmp_path, parent_res=8)
    assert single.summary["uniform_priority"] and dist.spanning_blind_spots > 0
    assert_cells_equal(single, dist)
    assert_blind_spots_equal(single, dist)
    assert_stats_equal(single, dist)


def test_bad_camera_rows_are_reported_before_any_work(client, tmp_path) -> None:
    layers = dict(sample_layers())
    cams = layers["cameras"].copy()
    cams.loc[cams.index[3], "fov_deg"] = 400.0
    layers["cameras"] = cams
    with pytest.raises(InputError, match=r"row 3 .*fov_deg is 400"):
        run_distributed(**layers, client=client, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")
def test_failed_dask_run_leaves_previous_result_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("previous good run\n", encoding="utf-8")
    (out / "cells").mkdir()
    (out / "cells" / "part-0.parquet").write_bytes(b"previous part")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    import gridcover.commands.analyze_dask as dcli

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device (planted)")

    monkeypatch.setattr(dcli, "write_distributed", disk_full)
    from gridcover.cli import main

    argv = ["analyze", "--sample", "--out", str(out), "--dask", "local:2", "--parent-res", "8"]
    with pytest.raises(OSError, match="planted"):
        main([*argv, "--no-progress"])
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind
