"""Shapefile field names are cut to 10 characters: canonical layers written as Shapefile
(parent_code -> parent_cod, azimuth_deg -> azimuth_de ...) read back with every column."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from gridcover.gis import read_layer

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"


@pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning")
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning")
def test_sample_grids_and_cameras_round_trip_through_shapefile(tmp_path: Path) -> None:
    cases = {
        "grids": ["code", "parent_code", "level", "name"],
        "cameras": ["camera_id", "azimuth_deg", "fov_deg", "type", "status"],
    }
    for kind, cols in cases.items():
        src = gpd.read_file(SAMPLE / f"{kind}.geojson")[[*cols, "geometry"]]
        shp = tmp_path / f"{kind}.shp"
        src.to_file(shp, encoding="utf-8")
        stored = set(pyogrio.read_info(shp)["fields"])
        assert any(len(c) > 10 for c in cols) == any(c not in stored for c in cols)
        got = read_layer(shp, kind)
        for c in cols:
            a, b = got[c].astype(str).tolist(), read_layer(SAMPLE / f"{kind}.geojson", kind)[c]
            assert a == b.astype(str).tolist(), c
