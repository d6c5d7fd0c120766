"""Shared by the coverage tests: the bundled sample read with gis.read_layer, analysed once.

Not a test module; imported by test_stats.py, test_whatif.py and test_analyze_cli.py.
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
    """The full analysis of the sample at ``res`` (occlusion on, default weights)."""
    return run_analysis(**sample_layers(), config=AnalysisConfig(res=res))
