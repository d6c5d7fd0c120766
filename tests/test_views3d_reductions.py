"""The two reductions of issue 14 and the resolution texts, on the bundled sample (real OSM
cameras and buildings of central Helsinki, sample_geodata, © OpenStreetMap contributors).

1. ``--visibility 2d`` ignores every 3D field: the same run with and without heights, tilt,
   resolution and light columns gives identical tables, bit for bit.
2. The 3D model with infinitely tall buildings, camera and target at ground level, no tilt and
   unlimited resolution sees exactly what the 2D model's view polygons hold.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gridcover.coverage.analysis import AnalysisConfig, run_analysis
from gridcover.coverage.views.defaults import CameraDefaults
from gridcover.coverage.views.optics import OpticsDefaults
from gridcover.coverage.views.resolution import parse_resolution

SAMPLE = Path(__file__).parent.parent / "sample_geodata"
EXTRA = [
    "tilt_deg",
    "vfov_deg",
    "lens_fov_deg",
    "resolution",
    "resolution_px",
    "supply_light",
    "ir_range_m",
]


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return {k: gpd.read_file(SAMPLE / f"{k}.geojson") for k in ("grids", "cameras", "buildings")}


def _with_3d_fields(cams: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = cams.copy()
    i = np.arange(len(out))
    out["height_m"] = 2.0 + (i % 5)
    out["tilt_deg"] = np.where(i % 3 == 0, 20.0, np.nan)
    out["vfov_deg"] = 40.0
    out["lens_fov_deg"] = 70.0
    out["resolution"] = np.array(["CIF", "1080P", "4MP"], dtype=object)[i % 3]
    out["resolution_px"] = np.where(i % 4 == 0, 3840.0, np.nan)
    out["supply_light"] = np.array(["none", "infrared", "white"], dtype=object)[i % 3]
    out["ir_range_m"] = 25.0
    return out


def test_2d_ignores_every_3d_field(layers: dict[str, gpd.GeoDataFrame]) -> None:
    g, cams, b = layers["grids"], layers["cameras"], layers["buildings"]
    plain = run_analysis(
        g,
        cams.drop(columns=["height_m"]),
        b.drop(columns=["height_m", "levels"]),
        config=AnalysisConfig(visibility="2d"),
    )
    rich = run_analysis(g, _with_3d_fields(cams), b, config=AnalysisConfig(visibility="2d"))
    assert plain.summary == rich.summary
    assert plain.summary["covered_pct"] > 5  # the run covers something
    pd.testing.assert_frame_equal(plain.cells, rich.cells, check_exact=True)
    pd.testing.assert_frame_equal(plain.grid_stats, rich.grid_stats, check_exact=True)
    views = [c for c in plain.views.columns if c not in ("height_m",)]
    pd.testing.assert_frame_equal(plain.views[views], rich.views[views], check_exact=True)
    assert "detail_level" not in rich.cells.columns


def test_3d_reduces_to_2d(layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Infinite buildings, h_c = h_t = 0, no vertical limit, unlimited resolution: the 3D
    pairs equal the 2D pairs up to the 2D polygons' own approximations (arc chords within
    0.1 m of the range circle, rays a micro-radian beside building corners)."""
    g, cams, b = layers["grids"], layers["cameras"].copy(), layers["buildings"]
    kinds = cams["type"].fillna("other").to_numpy()
    cams["range_m"] = (
        cams["range_m"]
        .astype(float)
        .fillna(pd.Series(CameraDefaults().range_for(kinds), index=cams.index))
    )
    cams["height_m"] = 0.0
    unlimited = OpticsDefaults(
        **{f.name: math.inf for f in dataclasses.fields(OpticsDefaults) if "width" in f.name}
    )
    flat = b.drop(columns=["height_m", "levels"])
    two = run_analysis(g, cams, flat, config=AnalysisConfig(visibility="2d"))
    three = run_analysis(
        g,
        cams,
        flat,
        config=AnalysisConfig(
            visibility="3d",
            target_height_m=0.0,
            building_height_m=math.inf,
            optics_defaults=unlimited,
        ),
    )
    c2, c3 = two.state.coverage, three.state.coverage
    p2 = set(zip(c2.cell_idx.tolist(), c2.camera_idx.tolist(), strict=True))
    p3 = set(zip(c3.cell_idx.tolist(), c3.camera_idx.tolist(), strict=True))
    assert len(p2) > 1500
    diff = p2 ^ p3
    assert len(diff) <= 0.002 * len(p2), (len(diff), len(p2))
    # every difference sits on a boundary the 2D polygon approximates
    cells = two.state.cells
    v = two.state.views
    for cell, cam in diff:
        d = math.hypot(cells.x[cell] - v["x_m"][cam], cells.y[cell] - v["y_m"][cam])
        near_arc = abs(d - v["range_m"][cam]) < 0.15
        near_edge = (
            v.geometry[cam].exterior.distance(
                gpd.points_from_xy([cells.x[cell]], [cells.y[cell]])[0]
            )
            < 0.05
        )
        assert near_arc or near_edge, (cell, cam, d)
    # with every pair at level 4 (ppm infinite), detail is 'identify' wherever seen
    det = three.state.detail
    assert det is not None
    np.testing.assert_array_equal(det.detail_level > 0, c3.counts > 0)
    assert set(np.unique(det.detail_level)) <= {0, 4}


@pytest.mark.parametrize(
    ("text", "px"),
    [
        ("1080P", 1920),
        ("720p", 1280),
        ("1920x1080", 1920),
        ("2560×1440", 2560),
        ("1280*720", 1280),
        ("4MP", 2560),
        ("2MP", 1920),
        ("400万", 2560),
        ("200万像素", 1920),
        ("QCIF", 176),
        ("CIF", 352),
        ("4CIF", 704),
        ("D1", 720),
        ("3840", 3840),
    ],
)
def test_resolution_texts(text: str, px: int) -> None:
    assert parse_resolution(text) == px


@pytest.mark.parametrize("text", ["", "HD", "abc", None, "12"])
def test_unreadable_resolution_is_nan(text: object) -> None:
    assert math.isnan(parse_resolution(text))
