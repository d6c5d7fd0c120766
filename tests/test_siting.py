"""Camera and post siting on the bundled sample: brute force and re-run coverage checks."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse

from gridcover.cli import main
from gridcover.coverage.cells import cells_for_area
from gridcover.coverage.cover import cover_from_views
from gridcover.coverage.priority import priority_from_layers
from gridcover.coverage.siting.cameras import choose_sites, key_site_levels, site_cameras
from gridcover.coverage.siting.candidates import camera_candidates, candidate_sites
from gridcover.coverage.siting.posts import site_posts
from gridcover.coverage.siting.solvers import celf_greedy, prepare
from gridcover.coverage.views.sectors import camera_views
from gridcover.errors import InputError
from gridcover.gis import read_layer

SAMPLE = Path(__file__).parents[1] / "sample_geodata"


@pytest.fixture(scope="module")
def sample():
    grids = read_layer(SAMPLE / "grids.geojson", "grids")
    area = grids[grids["level"] == 1]
    roads = read_layer(SAMPLE / "roads.geojson", "roads")
    buildings = read_layer(SAMPLE / "buildings.geojson", "buildings")
    sites = read_layer(SAMPLE / "sites.geojson", "sites")
    cameras = read_layer(SAMPLE / "cameras.geojson", "cameras")
    posts = read_layer(SAMPLE / "posts.geojson", "posts")
    cells = cells_for_area(area, 12)
    prio = priority_from_layers(cells, roads=roads, sites=sites, buildings=buildings)
    points = candidate_sites(roads, every_m=60, area=area.geometry.union_all())
    cand = camera_candidates(points, azimuths=8, dome=True)
    return dict(
        area=area,
        roads=roads,
        buildings=buildings,
        sites=sites,
        cameras=cameras,
        posts=posts,
        cells=cells,
        weight=prio.weight,
        points=points,
        cand=cand,
    )


@pytest.fixture(scope="module")
def sited(sample):
    s = sample
    return site_cameras(
        s["cells"],
        s["weight"],
        s["cand"],
        8,
        existing=s["cameras"],
        buildings=s["buildings"],
        method="exact",
        time_limit=60,
    )


def _value(
    sets: list[set[int]], w: np.ndarray, open_cells: set[int], pick: tuple[int, ...]
) -> float:
    """Independent objective: weight of the open cells in the union of the picked sets."""
    covered = set().union(*(sets[j] for j in pick)) & open_cells if pick else set()
    return float(sum(w[i] for i in covered))


def _sets(cov: sparse.spmatrix) -> list[set[int]]:
    csc = sparse.csc_matrix(cov)
    return [
        set(csc.indices[csc.indptr[j] : csc.indptr[j + 1]].tolist()) for j in range(csc.shape[1])
    ]


def test_exact_and_greedy_against_brute_force_on_a_tiny_instance(sample, sited) -> None:
    cov, w, count = sited.coverage, sited.weight, sited.existing_count
    open_mask = count == 0
    gains = np.asarray(cov.T @ (w * open_mask)).ravel()
    # The 12 best single candidates: heavy overlap between them makes it a real choice.
    pick = np.argsort(gains)[::-1][:12]
    sub = cov[:, pick]
    sets = _sets(sub)
    open_cells = set(np.flatnonzero(open_mask).tolist())
    for k in (2, 3, 4):
        brute = max(_value(sets, w, open_cells, c) for c in itertools.combinations(range(12), k))
        ex = choose_sites(sub, w, k, existing=count, method="exact")
        gr = choose_sites(sub, w, k, existing=count, method="greedy")
        assert ex.objective == pytest.approx(brute, rel=1e-12)
        assert _value(sets, w, open_cells, tuple(ex.chosen)) == pytest.approx(ex.objective)
        assert gr.objective <= brute + 1e-9
        assert gr.objective >= (1 - 1 / math.e) * brute
        assert gr.upper_bound >= brute - 1e-9  # the LP bound is a real bound
        assert ex.optimal and ex.gap == pytest.approx(0.0, abs=1e-9)
        print(
            f"\ntiny K={k}: brute force {brute:.2f}, exact {ex.objective:.2f}, "
            f"greedy {gr.objective:.2f}, LP bound {gr.upper_bound:.2f}"
        )


def test_one_camera_per_pole_matches_brute_force(sited, sample) -> None:
    cand = sample["cand"]
    cov, w, count = sited.coverage, sited.weight, sited.existing_count
    # 4 sites x their 9 orientations; brute force over one orientation per site (or none).
    sites = cand["site_id"].drop_duplicates().to_numpy()[[3, 40, 41, 120]]
    cols = np.flatnonzero(cand["site_id"].isin(sites).to_numpy())
    sub, sid = cov[:, cols], cand["site_id"].to_numpy()[cols]
    sets = _sets(sub)
    open_cells = set(np.flatnonzero(count == 0).tolist())
    groups = [[*np.flatnonzero(sid == s).tolist(), None] for s in sites]
    brute = 0.0
    for combo in itertools.product(*groups):
        chosen = tuple(j for j in combo if j is not None)
        if len(chosen) <= 2:
            brute = max(brute, _value(sets, w, open_cells, chosen))
    ex = choose_sites(sub, w, 2, existing=count, site=sid, method="exact")
    assert ex.objective == pytest.approx(brute)
    assert len(set(sid[ex.chosen])) == ex.chosen.size


def test_backup_coverage_matches_brute_force(sited) -> None:
    cov, w, count = sited.coverage, sited.weight, sited.existing_count
    gains = np.asarray(cov.T @ w).ravel()
    pick = np.argsort(gains)[::-1][:10]
    sub = sparse.csc_matrix(cov[:, pick])
    levels = np.where(np.arange(w.size) % 3 == 0, 2, 1)
    sets = _sets(sub)

    def value(chosen: tuple[int, ...]) -> float:
        total = 0.0
        for i in set().union(*(sets[j] for j in chosen)):
            n_new = sum(i in sets[j] for j in chosen)
            for ell in range(n_new):
                c = count[i] + ell + 1  # coverage count after this camera
                if c <= levels[i]:
                    total += w[i] * (1.0 if c == 1 else 0.5)
        return total

    brute = max(value(c) for c in itertools.combinations(range(10), 3))
    ex = choose_sites(sub, w, 3, existing=count, levels=levels, method="exact")
    assert ex.objective == pytest.approx(brute)
    assert value(tuple(ex.chosen)) == pytest.approx(ex.objective)


def test_sample_exact_beats_greedy_and_coverage_rises_by_the_gain(sample, sited) -> None:
    r = sited.result
    assert r.exact_objective is not None and r.exact_objective >= r.greedy_objective - 1e-9
    assert r.objective >= r.greedy_objective and r.upper_bound >= r.objective
    assert r.chosen.size == 8 and r.method == "exact"
    # Re-run the whole coverage with the chosen cameras added to the existing ones.
    s = sample
    cols = list(s["cameras"].columns.intersection(sited.chosen.columns))
    both = pd.concat([s["cameras"][cols], sited.chosen[cols]], ignore_index=True)
    before = cover_from_views(
        camera_views(s["cameras"], s["buildings"], metric_crs=s["cells"].crs), s["cells"]
    )
    after = cover_from_views(
        camera_views(gpd.GeoDataFrame(both, crs=4326), s["buildings"], metric_crs=s["cells"].crs),
        s["cells"],
    )
    w = s["weight"]
    gain = w[after.covered].sum() - w[before.covered].sum()
    assert gain == pytest.approx(r.objective, rel=1e-12, abs=1e-9)
    rank = r.ranking
    assert rank["marginal_gain"].sum() == pytest.approx(r.objective)
    assert np.all(np.diff(rank["marginal_gain"].to_numpy()) <= 1e-9)
    # Removal loss of each chosen camera, by brute force on the cell sets.
    sets = _sets(sited.coverage)
    open_cells = set(np.flatnonzero(sited.existing_count == 0).tolist())
    full = _value(sets, w, open_cells, tuple(r.chosen))
    for j, loss in zip(rank["candidate"], rank["removal_loss"], strict=True):
        rest = tuple(c for c in r.chosen if c != j)
        assert loss == pytest.approx(full - _value(sets, w, open_cells, rest))
    print(
        f"\nsample: {len(s['cells'])} cells, {r.n_candidates} candidates, K=8: exact "
        f"{r.objective:.2f} (greedy {r.greedy_objective:.2f}), bound {r.upper_bound:.2f}, "
        f"{r.n_rows} merged rows; coverage gain re-run {gain:.2f}"
    )


def test_row_merging_keeps_the_optimum(sited) -> None:
    cov, w, count = sited.coverage, sited.weight, sited.existing_count
    merged = prepare(cov, w, existing=count)
    plain = prepare(cov, w, existing=count, merge=False)
    assert merged.n_rows < plain.n_rows
    assert merged.values.sum() == pytest.approx(plain.values.sum())
    for k in (5, 20):
        assert celf_greedy(merged, k).objective == pytest.approx(celf_greedy(plain, k).objective)
    print(
        f"\nidentical-row merging: {plain.n_rows} -> {merged.n_rows} rows "
        f"({plain.n_rows / merged.n_rows:.1f}x)"
    )


def test_k_larger_than_candidates_and_bad_arguments(sited) -> None:
    cov, w, count = sited.coverage, sited.weight, sited.existing_count
    sub = cov[:, :5]
    r = choose_sites(sub, w, 50, existing=count)
    assert any("exceeds the 5 candidate" in n for n in r.notes)
    assert r.chosen.size <= 5
    # The exact solver may switch on useless columns when K is loose: they are dropped,
    # and the value is that of all candidates together (brute force on the cell sets).
    # Columns 5-7 see nothing, 8 repeats column 0: never worth choosing.
    padded = sparse.hstack([sub, sparse.csr_matrix((sub.shape[0], 3)), sub[:, :1]]).tocsr()
    open_cells = set(np.flatnonzero(count == 0).tolist())
    every = _value(_sets(padded), w, open_cells, tuple(range(9)))
    for method in ("exact", "greedy"):
        rk = choose_sites(padded, w, 50, existing=count, method=method)
        assert rk.objective == pytest.approx(every)
        assert (rk.ranking["marginal_gain"] > 0).all()
        assert not {5, 6, 7} & set(rk.chosen.tolist()) and not {0, 8} <= set(rk.chosen.tolist())
        assert _value(_sets(padded), w, open_cells, tuple(rk.chosen)) == pytest.approx(every)
    with pytest.raises(InputError, match="backup_weight"):
        choose_sites(sub, w, 2, backup_weight=1.5)
    with pytest.raises(InputError, match="positive integer"):
        choose_sites(sub, w, 0)
    with pytest.raises(InputError, match="cells"):
        choose_sites(sub, w[:-1], 2)
    with pytest.raises(InputError, match="Unknown siting method"):
        choose_sites(sub, w, 2, method="magic")
    with pytest.raises(InputError, match=">= 0"):
        choose_sites(sub, -w, 2)
    empty = choose_sites(sparse.csr_matrix(sub.shape), w, 3)
    assert empty.chosen.size == 0 and empty.objective == 0.0 and empty.notes


def test_key_site_levels(sample) -> None:
    s = sample
    lv = key_site_levels(s["cells"], s["sites"], 2, radius_m=25.0)
    pts = s["sites"].to_crs(s["cells"].crs).geometry
    d = shapely.distance(
        shapely.points(s["cells"].x, s["cells"].y)[:, None], np.asarray(pts.values)[None, :]
    ).min(axis=1)
    assert np.array_equal(lv == 2, d <= 25.0)


def test_post_siting_matches_brute_force(sample) -> None:
    s = sample
    cand = s["points"].iloc[::25].reset_index(drop=True)
    out = site_posts(
        s["cells"], s["weight"], cand, 2, existing=s["posts"], radius_m=250.0, method="exact"
    )

    # Independent: plain distances from cell centroids to the candidates and posts.
    def xy(g: gpd.GeoDataFrame) -> np.ndarray:
        p = g.to_crs(s["cells"].crs).geometry
        return np.c_[p.x, p.y]

    cxy = np.c_[s["cells"].x, s["cells"].y]
    near = lambda pts: np.hypot(*(cxy[:, None, :] - pts[None]).transpose(2, 0, 1)) <= 250.0  # noqa: E731
    reach = near(xy(cand))
    open_ = ~near(xy(s["posts"])).any(axis=1)
    w = s["weight"]
    brute = max(
        w[open_ & reach[:, list(c)].any(axis=1)].sum()
        for c in itertools.combinations(range(len(cand)), 2)
    )
    assert out.result.objective == pytest.approx(brute)
    assert len(out.chosen) == 2 and "250 m" in out.rule


def test_cli_site_cameras_and_posts(tmp_path, capsys) -> None:
    out = tmp_path / "cams.geojson"
    code = main(
        [
            "site",
            "cameras",
            str(SAMPLE / "grids.geojson"),
            "-k",
            "3",
            "--res",
            "11",
            "--roads",
            str(SAMPLE / "roads.geojson"),
            "--buildings",
            str(SAMPLE / "buildings.geojson"),
            "--cameras",
            str(SAMPLE / "cameras.geojson"),
            "--out",
            str(out),
            "--report",
            str(tmp_path / "cams.txt"),
        ]
    )
    assert code == 0 and len(gpd.read_file(out)) == 3
    text = capsys.readouterr().out
    assert "proven upper bound" in text and "gap" in text
    saved = (tmp_path / "cams.txt").read_text(encoding="utf-8")
    assert "proven upper bound" in saved
    assert all(cid in saved for cid in gpd.read_file(out)["camera_id"])
    out2 = tmp_path / "posts.parquet"
    code = main(
        [
            "site",
            "posts",
            str(SAMPLE / "grids.geojson"),
            "-k",
            "2",
            "--res",
            "11",
            "--roads",
            str(SAMPLE / "roads.geojson"),
            "--posts",
            str(SAMPLE / "posts.geojson"),
            "--minutes",
            "1",
            "--mode",
            "walk",
            "--out",
            str(out2),
        ]
    )
    assert code == 0 and len(gpd.read_parquet(out2)) == 2
