"""Shared by the coverage tests: the bundled sample read with gis.read_layer, analysed once.

Not a test module; imported by the coverage, map, report and Dask tests.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd

from gridcover.coverage.analysis import AnalysisConfig, AnalysisResult, run_analysis
from gridcover.gis import read_layer

SAMPLE = Path(__file__).resolve().parents[1] / "sample_geodata"
KINDS = ("grids", "cameras", "buildings", "roads", "sites", "posts")


@lru_cache(maxsize=1)
def sample_layers() -> dict[str, gpd.GeoDataFrame]:
    """The sample layers, canonical (EPSG:4326). Callers must not modify them."""
    return {k: read_layer(SAMPLE / f"{k}.geojson", k) for k in KINDS}


@lru_cache(maxsize=4)
def sample_result(res: int = 12) -> AnalysisResult:
    """The full analysis of the sample at ``res`` (occlusion on, default weights) with the 2D
    sector model, pinned: the tests sharing it check 2D semantics (a cell is covered iff its
    centroid lies in a counted view; blind spots are uncovered priority cells). The 3D default
    has its own tests (test_views3d_*.py)."""
    return run_analysis(**sample_layers(), config=AnalysisConfig(res=res, visibility="2d"))


@lru_cache(maxsize=2)
def default_result(res: int = 12) -> AnalysisResult:
    """The sample analysed with every default (the 3D model since it became the default):
    the single-machine reference of tests that run a door without ``--visibility``."""
    return run_analysis(**sample_layers(), config=AnalysisConfig(res=res))
