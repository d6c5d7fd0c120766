"""The cells part of a Dask partition written without shapely objects (point_table.py):
the same Arrow table as GeoPandas builds, and a file GDAL (pyogrio) reads back as the
points of the sample's cells."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from geopandas.io.arrow import _geopandas_to_arrow

from gridcover.coverage.cells import cells_from_ids, cells_in_polygon, metric_crs_for
from gridcover.coverage.distributed.point_table import points_table, wkb_points
from sample_analysis import sample_layers


@pytest.fixture(scope="module")
def sample_cells():
    grids = sample_layers()["grids"]
    area = shapely.union_all(np.asarray(grids.geometry.values))
    crs = metric_crs_for(area.centroid.x, area.centroid.y)
    return cells_from_ids(cells_in_polygon(area, 12), crs)


def _columns(cells) -> tuple[dict, dict]:
    n = len(cells)
    rng = np.random.default_rng(3)
    codes = np.array(["A01", "A02", None], dtype=object)[rng.integers(0, 3, n)]
    before = {
        "h3": cells.hex_ids(),
        "cell": cells.h3,
        "lon": cells.lon,
        "lat": cells.lat,
        "area_m2": cells.area_m2,
        "grid_code": codes,
        "covered": rng.random(n) < 0.4,
        "blind_spot": rng.integers(0, 9, n),
    }
    after = {"detail_level": rng.integers(0, 4, n).astype(np.int8)}
    return before, after


def test_wkb_points_are_shapely_iso_wkb(sample_cells) -> None:
    got = wkb_points(sample_cells.lon, sample_cells.lat).to_pylist()
    want = shapely.to_wkb(shapely.points(sample_cells.lon, sample_cells.lat), flavor="iso")
    assert len(got) == len(sample_cells) > 1000 and got == list(want)


def test_points_table_is_the_geopandas_table(sample_cells) -> None:
    before, after = _columns(sample_cells)
    got = points_table(before, sample_cells.lon, sample_cells.lat, after)
    gdf = gpd.GeoDataFrame(
        before, geometry=shapely.points(sample_cells.lon, sample_cells.lat), crs="EPSG:4326"
    ).assign(**after)
    want = _geopandas_to_arrow(gdf, index=False, write_covering_bbox=True)
    assert got.schema.equals(want.schema, check_metadata=True)
    assert got.equals(want)


def test_written_part_reads_back_in_gdal_and_geopandas(sample_cells, tmp_path: Path) -> None:
    before, after = _columns(sample_cells)
    path = tmp_path / "part.parquet"
    pq.write_table(points_table(before, sample_cells.lon, sample_cells.lat, after), path)
    # GDAL (this pyogrio's has no Parquet driver) decodes the table's WKB column: the
    # Parquet file read by pyarrow, handed to GDAL as an Arrow stream, written as GeoPackage
    table = pq.read_table(path).drop(["bbox"])
    pyogrio.write_arrow(
        table, tmp_path / "part.gpkg", geometry_name="geometry", geometry_type="Point",
        crs="EPSG:4326", encoding="UTF-8",
    )  # fmt: skip
    by_gdal = pyogrio.read_dataframe(tmp_path / "part.gpkg")
    assert by_gdal.crs.to_epsg() == 4326 and len(by_gdal) == len(sample_cells)
    xy = shapely.get_coordinates(np.asarray(by_gdal.geometry.values))
    assert np.array_equal(xy[:, 0], sample_cells.lon) and np.array_equal(xy[:, 1], sample_cells.lat)
    assert list(by_gdal["h3"]) == list(sample_cells.hex_ids())
    assert np.array_equal(by_gdal["detail_level"].to_numpy(), after["detail_level"])
    lon0, lat0 = np.median(sample_cells.lon), np.median(sample_cells.lat)
    by_gpd = gpd.read_parquet(path, bbox=(lon0, lat0, 180.0, 90.0))
    inside = (sample_cells.lon >= lon0) & (sample_cells.lat >= lat0)
    assert 0 < len(by_gpd) == int(inside.sum())  # the bbox covering column filters the rows
    assert np.array_equal(by_gpd.geometry.x.to_numpy(), sample_cells.lon[inside])
    assert by_gpd["grid_code"].isna().sum() == sum(c is None for c in before["grid_code"][inside])


def test_points_table_refuses_no_points() -> None:
    e = np.empty(0)
    with pytest.raises(ValueError, match="at least one point"):
        points_table({"cell": e}, e, e)
