"""Grid QA on real Chicago police districts (level 1) and beats (level 2), and on single-level
variants of them. Expected numbers come from plain shapely loops, never from check_grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from _gridqa_data import DATA, FLOOR, chicago_frame, polys, shapes
from gridcover.errors import CRSError, InputError, SchemaError
from gridcover.gis.qa.check import CHECKS, COLUMNS, GridCheck, check_grids


@pytest.fixture(scope="module")
def grids() -> gpd.GeoDataFrame:
    return chicago_frame()


@pytest.fixture(scope="module")
def base(grids: gpd.GeoDataFrame) -> GridCheck:
    return check_grids(grids)


# --------------------------------------------------------------------------- real data


def test_result_shape(base: GridCheck) -> None:
    assert list(base.issues.columns) == [*COLUMNS, "geometry"]
    assert base.issues.crs.to_epsg() == 4326
    assert list(base.summary.index) == list(CHECKS)
    assert set(base.issues["severity"]) <= {"error", "warning"}
    assert int(base.summary["errors"].sum()) == base.n_errors
    assert int(base.summary["warnings"].sum()) == base.n_warnings
    assert base.metric_crs.is_projected


def test_chicago_beats_outside_their_district_match_a_plain_loop(
    grids: gpd.GeoDataFrame, base: GridCheck
) -> None:
    shp = shapes(grids, base.metric_crs)
    expected: dict[str, float] = {}
    widths: dict[str, list[float]] = {}
    for (lv, code), beat in shp.items():
        if lv != 2:
            continue
        parent = grids.loc[(grids["code"] == code) & (grids["level"] == 2), "parent_code"].iloc[0]
        parts = [p for p in polys(beat.difference(shp[(1, parent)])) if p.area >= FLOOR]
        if parts:
            expected[code] = sum(p.area for p in parts)
            widths[code] = [2 * p.area / p.length for p in parts if p.area >= 1]
    got = base.issues[base.issues["check"] == "outside_parent"]
    reported = dict(zip(got["code"], got["area_m2"], strict=True))
    assert set(reported) == set(expected)
    for code, area in expected.items():
        assert reported[code] == pytest.approx(area, rel=1e-6, abs=1e-6)
    # Severity rule: error iff some part is >= 1 m² and at least 1 m wide (mean width 2A/P).
    real = {c for c, w in widths.items() if any(x >= 1 for x in w)}
    errors = set(got.loc[got["severity"] == "error", "code"])
    assert errors == real
    assert 0 < len(real) < len(expected)
    print("\nChicago beats outside their district (errors):")
    for _, row in got[got["severity"] == "error"].iterrows():
        print(f"  {row['code']} (district {row['other_code']}): {row['area_m2']:.1f} m² outside")
    print(
        f"  {len(expected)} beats spill outside their district at all, "
        f"{sum(expected.values()):.1f} m² in total; {len(expected) - len(errors)} are slivers"
    )


def test_chicago_uncovered_parts_of_districts_match_a_plain_loop(
    grids: gpd.GeoDataFrame, base: GridCheck
) -> None:
    shp = shapes(grids, base.metric_crs)
    expected: dict[str, float] = {}
    for (lv, code), dist in shp.items():
        if lv != 1:
            continue
        kids = grids.loc[(grids["parent_code"] == code) & (grids["level"] == 2), "code"].unique()
        union = shapely.union_all([shp[(2, k)] for k in kids])
        parts = [p for p in polys(dist.difference(union)) if p.area >= FLOOR]
        if parts:
            expected[code] = sum(p.area for p in parts)
    got = base.issues[base.issues["check"].isin(["gap", "not_tiled"])]
    reported = got.groupby("code")["area_m2"].sum().to_dict()
    assert set(reported) == set(expected)
    for code, area in expected.items():
        assert reported[code] == pytest.approx(area, rel=1e-6, abs=1e-6)
    err = got[got["severity"] == "error"]
    print("\nChicago districts not covered by their beats (errors):")
    for _, row in err.iterrows():
        print(
            f"  {row['code']}: {row['area_m2']:.1f} m² uncovered, "
            f"covered by beat {row['other_code']}"
        )
    print(f"  uncovered in all districts: {sum(expected.values()):.1f} m²")


def test_chicago_error_geometries_lie_where_they_say(
    grids: gpd.GeoDataFrame, base: GridCheck
) -> None:
    """Random points inside the largest part of each error polygon are inside the beat and
    outside its district (plain shapely point-in-polygon, EPSG:4326)."""
    shp = shapes(grids, 4326)
    rng = np.random.default_rng(7)
    err = base.issues[
        (base.issues["check"] == "outside_parent") & (base.issues["severity"] == "error")
    ]
    assert len(err) == 2
    for _, row in err.iterrows():
        part = max(polys(row.geometry), key=lambda p: p.area)
        x0, y0, x1, y1 = part.bounds
        pts = shapely.points(rng.uniform(x0, x1, 20000), rng.uniform(y0, y1, 20000))
        pts = pts[shapely.contains(part, pts)][:300]
        assert len(pts) >= 50
        in_beat = shapely.contains(shp[(2, row["code"])], pts)
        in_parent = shapely.contains(shp[(1, row["other_code"])], pts)
        assert in_beat.mean() > 0.97 and in_parent.mean() < 0.03


def test_chicago_has_no_overlaps_by_brute_force(grids: gpd.GeoDataFrame, base: GridCheck) -> None:
    shp = shapes(grids, base.metric_crs)
    items = list(shp.items())
    worst = 0.0
    for a in range(len(items)):
        for b in range(a + 1, len(items)):
            (la, _), ga = items[a]
            (lb, _), gb = items[b]
            if la == lb and shapely.intersects(ga, gb):
                worst = max(worst, ga.intersection(gb).area)
    assert worst < FLOOR
    assert not (base.issues["check"] == "overlap").any()


def test_chicago_multi_part_codes_are_warnings(grids: gpd.GeoDataFrame, base: GridCheck) -> None:
    counts = grids.groupby(["level", "code"]).size()
    multi = {code for (_, code), n in counts.items() if n > 1}
    dup = base.issues[base.issues["check"] == "duplicate_code"]
    assert set(dup["code"]) == multi == {"31", "3100"}
    assert (dup["severity"] == "warning").all()


def test_wider_tolerance_turns_narrow_real_mismatches_into_warnings(
    grids: gpd.GeoDataFrame, base: GridCheck
) -> None:
    shp = shapes(grids, base.metric_crs)
    out = base.issues[
        (base.issues["check"] == "outside_parent") & (base.issues["severity"] == "error")
    ]
    narrow = set()
    for _, row in out.iterrows():
        parts = polys(shp[(2, row["code"])].difference(shp[(1, row["other_code"])]))
        if max(2 * p.area / p.length for p in parts if p.area >= 1) < 2.0:
            narrow.add(row["code"])
    assert narrow  # 0624's strip is about 1.1 m wide
    r = check_grids(grids, tolerance_m=2.0)
    out2 = r.issues[r.issues["check"] == "outside_parent"]
    assert set(out2.loc[out2["severity"] == "error", "code"]) == set(out["code"]) - narrow
    assert set(out2["code"]) == set(
        base.issues.loc[base.issues["check"] == "outside_parent", "code"]
    )


# --------------------------------------------------------------------------- single levels


def test_hole_between_top_level_grids(grids: gpd.GeoDataFrame) -> None:
    """Delete a district that does not reach the city's outline: a hole of its area."""
    dist = grids[grids["level"] == 1]
    single = dist.groupby("code").filter(lambda g: len(g) == 1)
    crs = dist.estimate_utm_crs()
    m = single.to_crs(crs)
    city = shapely.union_all(list(dist.to_crs(crs).geometry))
    inner = m[m.geometry.apply(lambda g: g.distance(city.exterior) > 500)]
    assert len(inner)
    code = inner["code"].iloc[0]
    r = check_grids(dist[dist["code"] != code])
    err = r.issues[r.issues["severity"] == "error"]
    assert list(err["check"]) == ["gap"]
    assert err["area_m2"].iloc[0] == pytest.approx(inner.geometry.iloc[0].area, rel=1e-3)
    assert code not in err["message"].iloc[0]  # names the neighbours, which still exist


def test_single_level_file_with_dangling_parents_is_not_an_orphan_storm(
    grids: gpd.GeoDataFrame,
) -> None:
    beats = grids[grids["level"] == 2]
    r = check_grids(beats)
    assert not (r.issues["check"] == "orphan").any()
    assert r.ok


def test_parent_codes_that_do_not_match_the_parent_layer(grids: gpd.GeoDataFrame) -> None:
    """Districts coded '1'..'9' (as DIST_NUM is) while beats name '01'..'09': orphans."""
    g = grids.copy()
    lv1 = g["level"] == 1
    g.loc[lv1, "code"] = g.loc[lv1, "code"].str.lstrip("0")
    r = check_grids(g)
    orphans = set(r.issues.loc[r.issues["check"] == "orphan", "code"])
    beats = g[g["level"] == 2]
    assert orphans == set(beats.loc[~beats["parent_code"].isin(set(g.loc[lv1, "code"])), "code"])
    assert all(c.startswith("0") for c in orphans)


def test_no_prefix_check_when_codes_are_not_hierarchical(grids: gpd.GeoDataFrame) -> None:
    g = grids.copy()
    lv2 = g["level"] == 2
    g.loc[lv2, "code"] = ["B" + c for c in g.loc[lv2, "code"]]
    r = check_grids(g)
    assert not (r.issues["check"] == "code_mismatch").any()


def test_own_parent_and_broken_shapes_are_reported(grids: gpd.GeoDataFrame) -> None:
    g = grids.copy()
    beats = g.index[g["level"] == 2]
    a, b, c = beats[10], beats[20], beats[30]
    g.loc[a, "parent_code"] = g.loc[a, "code"]
    g.loc[b, "geometry"] = g.loc[b, "geometry"].centroid
    g.loc[c, "geometry"] = shapely.Polygon()
    r = check_grids(g)
    err = r.issues[r.issues["severity"] == "error"]
    assert (g.loc[a, "code"], "code_mismatch") in set(zip(err["code"], err["check"], strict=True))
    inval = err[err["check"] == "invalid"]
    assert set(inval["code"]) == {g.loc[b, "code"], g.loc[c, "code"]}
    assert inval["message"].str.contains("Point|empty").all()


def test_prague_slivers_match_a_plain_loop() -> None:
    t = gpd.read_file(DATA / "prague-bubenec-momepy" / "bubenec.gpkg", layer="plots")
    g = gpd.GeoDataFrame(
        {"code": [f"P{i:03d}" for i in range(len(t))], "level": 1}, geometry=t.geometry, crs=t.crs
    )
    r = check_grids(g)  # EPSG:3857 in, converted to 4326 by the check
    assert r.issues.crs.to_epsg() == 4326
    m = g.to_crs(r.metric_crs)
    expected = {
        c
        for c, p in zip(m["code"], m.geometry, strict=True)
        if p.area < 100 or 4 * np.pi * p.area / p.length**2 < 0.05
    }
    got = set(r.issues.loc[r.issues["check"] == "sliver", "code"])
    assert got == expected and len(expected) > 10
    thin = {
        c
        for c, p in zip(m["code"], m.geometry, strict=True)
        if 4 * np.pi * p.area / p.length**2 < 0.05
    }
    assert thin and all(
        "thin" in msg
        for c, msg in zip(r.issues["code"], r.issues["message"], strict=True)
        if c in thin
    )


def test_bad_arguments_raise_sentences(grids: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputError, match="tolerance_m"):
        check_grids(grids, tolerance_m=-1)
    with pytest.raises(InputError, match="sliver_thinness"):
        check_grids(grids, sliver_thinness=2)
    with pytest.raises(SchemaError, match="level"):
        check_grids(grids.drop(columns="level"))
    with pytest.raises(CRSError, match="no CRS"):
        check_grids(grids.set_crs(None, allow_override=True))
