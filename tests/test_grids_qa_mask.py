"""Grid QA with a mask: areas that belong to no grid on purpose are not gaps; issues name
the grid chief. Real Chicago police districts and beats (tests/data); the defect (a
district removed, leaving a hole surrounded by its neighbours, as a harbour would) is
derived in memory, and the expected areas are computed with plain shapely in a metric CRS.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from _gridqa_data import chicago_frame
from gridcover.gis.qa.check import check_grids

METRIC = 26971  # NAD83 / Illinois East (metres)


@pytest.fixture(scope="module")
def districts() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    g = chicago_frame()
    d = g[g["level"] == 1].reset_index(drop=True)
    hole = d[d["code"] == "12"]
    return d[d["code"] != "12"].reset_index(drop=True), hole


def _gap_area(result) -> float:
    i = result.issues
    return float(i.loc[(i["check"] == "gap") & (i["severity"] == "error"), "area_m2"].sum())


def test_a_masked_hole_is_no_gap(districts) -> None:
    rest, hole = districts
    want = float(hole.to_crs(METRIC).area.sum())
    plain = check_grids(rest)
    assert _gap_area(plain) == pytest.approx(want, rel=0.01)
    masked = check_grids(rest, mask=hole)
    assert _gap_area(masked) == 0.0
    assert not (masked.issues["check"] == "gap").any()
    # half masked: only the unmasked half is reported
    h = shapely.union_all(hole.geometry.values)
    x0, y0, x1, y1 = h.bounds
    west = gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, (x0 + x1) / 2, y1)], crs=4326)
    left = float(gpd.GeoSeries([h], crs=4326).to_crs(METRIC).difference(
        west.to_crs(METRIC).geometry.iloc[0]).area.iloc[0])  # fmt: skip
    assert _gap_area(check_grids(rest, mask=west)) == pytest.approx(left, rel=0.01)


def test_issues_name_the_grid_chief() -> None:
    g = chicago_frame()
    g["chief_name"] = ["Chief " + str(c) for c in g["code"]]
    g["chief_phone"] = ["312-555-" + str(c).zfill(4) for c in g["code"]]
    # plant a child that leaves its parent: a beat shifted 300 m east
    i = g.index[(g["level"] == 2)][0]
    g.loc[i, "geometry"] = shapely.affinity.translate(g.loc[i, "geometry"], xoff=0.0036)
    issues = check_grids(g).issues
    named = issues[issues["code"].notna()]
    assert len(named) and (named["chief_name"] == "Chief " + named["code"].astype(str)).all()
    out = issues[(issues["check"] == "outside_parent") & (issues["code"] == g.loc[i, "code"])]
    assert len(out) == 1 and out["chief_phone"].iloc[0].endswith(str(g.loc[i, "code"]).zfill(4))
