"""Read the tables a map or report needs from an analysis output folder or from files.

``gridcover analyze --out DIR`` writes ``views``, ``cells``, ``blind_spots`` and
``grid_stats`` as GeoParquet and GeoJSON, plus ``summary.csv``. ``read_analysis_dir(DIR)``
reads them back (GeoParquet first), together with any optional layers saved beside them
(``cameras``, ``posts``, ``zones``/``patrol_zones``, ``siting``, ``grid_issues``/``qa``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from gridcover.errors import InputError

__all__ = ["MAP_TABLES", "AnalysisTables", "read_analysis_dir", "read_table"]

#: Map layer name -> file stems looked up in an analysis folder (first found wins).
MAP_TABLES: dict[str, tuple[str, ...]] = {
    "grids": ("grid_stats",),
    "cells": ("cells",),
    "blind_spots": ("blind_spots",),
    "views": ("views",),
    "bands": ("view_bands",),
    "cameras": ("cameras",),
    "posts": ("posts",),
    "zones": ("zones", "patrol_zones"),
    "siting": ("siting", "new_cameras"),
    "qa_issues": ("grid_issues", "qa_issues", "qa"),
}


@dataclass(frozen=True)
class AnalysisTables:
    """Tables of one analysis (EPSG:4326 GeoDataFrames, any may be None) and its summary."""

    layers: dict[str, gpd.GeoDataFrame | None]
    summary: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def get(self, name: str) -> gpd.GeoDataFrame | None:
        return self.layers.get(name)


def read_table(path: str | Path) -> gpd.GeoDataFrame:
    """A GeoParquet (.parquet) or any vector file pyogrio reads, in EPSG:4326."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found.")
    gdf = gpd.read_parquet(p) if p.suffix.lower() == ".parquet" else gpd.read_file(p)
    if gdf.crs is None:
        raise InputError(f"{p}: the file has no CRS; save it with one (EPSG:4326 lon/lat).")
    return gdf.to_crs("EPSG:4326")


def _value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in low else number


def read_summary(path: Path) -> dict[str, Any]:
    """``summary.csv`` (key,value rows) as a dict with numbers and booleans parsed."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return {r[0]: _value(r[1]) for r in rows[1:] if len(r) >= 2}


def read_analysis_dir(folder: str | Path) -> AnalysisTables:
    """Every table of :data:`MAP_TABLES` found in ``folder`` (GeoParquet, else GeoJSON)."""
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d}: not a folder; give the --out folder of 'gridcover analyze'.")
    layers: dict[str, gpd.GeoDataFrame | None] = {}
    for name, stems in MAP_TABLES.items():
        layers[name] = None
        for stem in stems:
            found = [d / f"{stem}{ext}" for ext in (".parquet", ".geojson", ".gpkg")]
            hit = next((p for p in found if p.is_file()), None)
            if hit is not None:
                layers[name] = read_table(hit)
                break
    if all(v is None for v in layers.values()):
        raise InputError(
            f"{d}: no analysis tables found (grid_stats, cells, blind_spots, views as .parquet "
            "or .geojson); run 'gridcover analyze ... --out DIR' first."
        )
    summary = read_summary(d / "summary.csv") if (d / "summary.csv").is_file() else {}
    return AnalysisTables(layers, summary, d)
