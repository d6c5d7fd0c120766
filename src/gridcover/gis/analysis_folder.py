"""The analysis output folder: the one place that knows its file names, writes and reads it.

``gridcover analyze --out DIR`` (single machine or ``--dask``) leaves in ``DIR``:

- ``views``, ``cells``, ``blind_spots``, ``grid_stats`` as ``.geojson`` (EPSG:4326, RFC 7946)
  and ``.parquet`` (GeoParquet); a ``--dask`` run writes ``cells/`` and ``views/`` instead, as
  partitioned GeoParquet folders (one part per partition) plus ``partitions.csv``;
- ``grid_stats.csv`` (no geometry), ``summary.csv`` (key, value), ``report.txt``, and on
  request ``cell_cameras.csv``; a 3D run adds ``view_bands`` (.geojson, .parquet: each
  camera's detail bands).

Writers stage every file in a folder beside ``DIR`` and swap them in only when all are
written (:func:`staged_output`); readers (maps, reports) use :func:`read_analysis_dir`, which
also picks up optional layers saved beside the tables (cameras, posts, patrol zones, siting,
grid issues).
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gridcover.errors import InputError

__all__ = [
    "BANDS",
    "CELL_CAMERAS",
    "GRID_STATS_CSV",
    "MAP_TABLES",
    "MAX_MAP_PART_ROWS",
    "PARTITIONED",
    "PARTITIONS",
    "REPORT",
    "SUMMARY",
    "TABLES",
    "AnalysisTables",
    "read_analysis_dir",
    "read_parts",
    "read_summary",
    "read_table",
    "staged_output",
    "write_geojson",
    "write_summary",
    "write_table",
]

TABLES = ("views", "cells", "blind_spots", "grid_stats")
"""The result tables, each as ``NAME.geojson`` and ``NAME.parquet``."""
PARTITIONED = ("cells", "views")
"""Tables a ``--dask`` run writes as partitioned GeoParquet folders ``NAME/``."""
GRID_STATS_CSV = "grid_stats.csv"
SUMMARY = "summary.csv"
REPORT = "report.txt"
CELL_CAMERAS = "cell_cameras.csv"
BANDS = "view_bands"
"""A 3D run's detail bands per camera and level (``view_bands.geojson`` / ``.parquet``)."""
PARTITIONS = "partitions.csv"

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

MAX_MAP_PART_ROWS = 2_000_000
"""A partitioned table larger than this is not loaded for a map or report (said in notes)."""


# -- writing ---------------------------------------------------------------------------------
@contextmanager
def staged_output(out_dir: str | Path) -> Iterator[Path]:
    """A staging folder for the files of ``out_dir``, swapped in only on success.

    Yields an empty folder created next to ``out_dir`` (same file system). When the block
    ends normally, each entry of the staging folder replaces the entry of the same name in
    ``out_dir`` (created if missing; other files there are left alone). When it raises,
    the staging folder is removed and ``out_dir`` is untouched.
    """
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file, not a folder: give --out a folder path.")
    out.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp, which makes it 0700) so a new --out gets the usual permissions
    stage = out.parent / f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if not out.exists():
        os.replace(stage, out)  # one rename: the folder appears complete
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    try:
        for entry in sorted(stage.iterdir()):
            target = out / entry.name
            if target.is_dir() and not target.is_symlink():
                os.replace(target, old / entry.name)  # a folder cannot be overwritten
            os.replace(entry, target)
    finally:
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GeoJSON (EPSG:4326) with missing text written as JSON null, not "None"/"nan"."""
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and (
            out[col].dtype == object or str(out[col].dtype).startswith("string")
        ):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    path.unlink(missing_ok=True)
    out.to_file(path, driver="GeoJSON", engine="pyogrio")


def write_table(gdf: gpd.GeoDataFrame, folder: Path, name: str) -> list[Path]:
    """``name.geojson`` and ``name.parquet`` (GeoParquet) of ``gdf`` in ``folder``."""
    gj, pq = folder / f"{name}.geojson", folder / f"{name}.parquet"
    write_geojson(gdf, gj)
    gdf.to_parquet(pq, index=False)
    return [gj, pq]


def write_summary(summary: Mapping[str, Any], path: Path) -> None:
    """``summary.csv``: one (key, value) row per summary entry."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "value"])
        for k, v in summary.items():
            w.writerow([k, v])


def write_grid_stats_csv(grid_stats: gpd.GeoDataFrame, path: Path) -> None:
    """``grid_stats.csv``: the per-grid statistics without geometry."""
    pd.DataFrame(grid_stats.drop(columns="geometry")).to_csv(path, index=False)


# -- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnalysisTables:
    """Tables of one analysis (EPSG:4326 GeoDataFrames, any may be None), its summary, and
    notes on what was not loaded and why."""

    layers: dict[str, gpd.GeoDataFrame | None]
    summary: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    notes: tuple[str, ...] = ()

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


def read_parts(folder: str | Path, columns: list[str] | None = None) -> gpd.GeoDataFrame:
    """Every part of a partitioned GeoParquet table (``cells/`` or ``views/``) as one
    GeoDataFrame: cells sorted by ``cell``, views by camera row. For small outputs, maps and
    tests; use ``dask_geopandas.read_parquet(folder)`` for large ones."""
    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    df = pd.concat([gpd.read_parquet(f, columns=columns) for f in files])
    df = df.sort_values("cell") if "cell" in df.columns else df.sort_index()
    return gpd.GeoDataFrame(df, geometry=df.geometry.name, crs="EPSG:4326")


def _part_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("*.parquet"))


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


def read_analysis_dir(folder: str | Path, max_part_rows: int = MAX_MAP_PART_ROWS) -> AnalysisTables:
    """Every table of :data:`MAP_TABLES` found in ``folder`` (GeoParquet, else GeoJSON; the
    partitioned ``cells/`` and ``views/`` of a ``--dask`` run when they hold at most
    ``max_part_rows`` rows, else left out with a note saying so)."""
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d}: not a folder; give the --out folder of 'gridcover analyze'.")
    layers: dict[str, gpd.GeoDataFrame | None] = {}
    notes: list[str] = []
    for name, stems in MAP_TABLES.items():
        layers[name] = None
        for stem in stems:
            found = [d / f"{stem}{ext}" for ext in (".parquet", ".geojson", ".gpkg")]
            hit = next((p for p in found if p.is_file()), None)
            if hit is not None:
                layers[name] = read_table(hit)
                break
            parts = d / stem
            if stem in PARTITIONED and parts.is_dir():
                rows = _part_rows(parts)
                if rows <= max_part_rows:
                    layers[name] = read_parts(parts)
                else:
                    notes.append(
                        f"{parts}/ holds {rows:,} rows in partitioned GeoParquet, more than a "
                        f"map shows ({max_part_rows:,}); they are left out. Open the folder in "
                        "QGIS or read it with dask_geopandas.read_parquet."
                    )
                break
    if all(v is None for v in layers.values()):
        raise InputError(
            f"{d}: no analysis tables found (grid_stats, cells, blind_spots, views as .parquet "
            "or .geojson); run 'gridcover analyze ... --out DIR' first."
        )
    summary = read_summary(d / SUMMARY) if (d / SUMMARY).is_file() else {}
    return AnalysisTables(layers, summary, d, tuple(notes))
