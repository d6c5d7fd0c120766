"""Write a coverage analysis into its output folder, and its plain-text report.

``write_analysis`` writes every table of an ``AnalysisResult`` with the names and the
staging rule of :mod:`gridcover.gis.analysis_folder` (the module that owns the folder's
layout), plus ``view_bands`` for a 3D run (each camera's detail bands, docs/VIEWS.md);
``text_report`` is the ``report.txt`` text; ``cell_camera_table`` the optional
``cell_cameras.csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.analysis import AnalysisResult
from gridcover.coverage.cover3d import band_table
from gridcover.coverage.detail import report_lines
from gridcover.gis import analysis_folder as folder

__all__ = ["cell_camera_table", "text_report", "write_analysis"]

WriteProgress = Callable[[str, int, int], None]
"""progress(file name, files done, total files)."""


def write_analysis(
    result: AnalysisResult,
    out_dir: str | Path,
    formats: tuple[str, ...] = ("geojson", "parquet"),
    *,
    report: str | None = None,
    progress: WriteProgress | None = None,
    cell_cameras: bool = False,
) -> list[Path]:
    """Write every table of ``result`` into ``out_dir`` (created); returns the paths written.

    ``report``: the text for ``report.txt`` (default ``text_report(result)``);
    ``cell_cameras``: also write ``cell_cameras.csv`` (``cell_camera_table``). Nothing in
    ``out_dir`` changes unless every file was written (see ``analysis_folder.staged_output``).
    """
    step = progress or (lambda _f, _i, _n: None)
    text = text_report(result) if report is None else report
    jobs: list[tuple[str, Callable[[Path], object]]] = []
    for name in folder.TABLES:
        gdf: gpd.GeoDataFrame = getattr(result, name)
        if "geojson" in formats:
            jobs.append((f"{name}.geojson", partial(folder.write_geojson, gdf)))
        if "parquet" in formats:
            jobs.append((f"{name}.parquet", partial(_write_parquet, gdf)))
    bands = band_table(result.state)  # 3D runs: detail bands per camera (view_bands.*)
    if bands is not None and "geojson" in formats:
        jobs.append((f"{folder.BANDS}.geojson", partial(folder.write_geojson, bands)))
    if bands is not None and "parquet" in formats:
        jobs.append((f"{folder.BANDS}.parquet", partial(_write_parquet, bands)))
    jobs.append((folder.GRID_STATS_CSV, partial(folder.write_grid_stats_csv, result.grid_stats)))
    if cell_cameras:
        pairs = cell_camera_table(result)
        jobs.append((folder.CELL_CAMERAS, lambda p: pairs.to_csv(p, index=False)))
    jobs.append((folder.SUMMARY, partial(folder.write_summary, result.summary)))
    jobs.append((folder.REPORT, lambda p: p.write_text(text, encoding="utf-8")))
    with folder.staged_output(out_dir) as stage:
        for i, (name, write) in enumerate(jobs):
            step(name, i, len(jobs))
            write(stage / name)
    step("done", len(jobs), len(jobs))
    return [Path(out_dir) / name for name, _ in jobs]


def cell_camera_table(result: AnalysisResult) -> pd.DataFrame:
    """Which cameras cover which cell: one row per (cell, camera) pair, sorted by cell.

    Columns ``h3`` (hex id), ``camera_id``, ``status`` and ``counted`` (False for offline
    cameras, which cover nothing in the statistics). Cells no camera sees have no row.
    """
    st = result.state
    cov = st.coverage
    order = np.lexsort((cov.camera_idx, cov.cell_idx))
    cell, cam = cov.cell_idx[order], cov.camera_idx[order]
    return pd.DataFrame(
        {
            "h3": st.cells.hex_ids()[cell],
            "camera_id": st.views["camera_id"].to_numpy()[cam],
            "status": st.views["status"].to_numpy()[cam],
            "counted": cov.counted[cam],
        }
    )


def _write_parquet(gdf: gpd.GeoDataFrame, path: Path) -> None:
    gdf.to_parquet(path, index=False)


def _fmt_pct(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.1f}%"


def _nearest_text(row: pd.Series, col: str) -> str:
    """``id (metres)`` of a blind spot's nearest camera / post, ``-`` when there is none."""
    if col not in row.index or pd.isna(row[col]):
        return "-"
    return f"{row[col]} ({row[f'{col}_m']:.0f})"


def text_report(result: AnalysisResult, top: int = 10) -> str:
    """A short plain-text report: inputs, rule, coverage, top blind spots, targets, notes."""
    s = result.summary
    st = result.state
    uniform = "; no roads/sites/incidents given, every open cell weighs 1"
    uniform = uniform if s["uniform_priority"] else ""
    lines = [
        "gridcover coverage report",
        "=========================",
        "",
        f"Cameras: {s['cameras']} ({s['cameras_online']} online, {s['cameras_offline']} offline, "
        f"{s['cameras_unknown']} unknown status); {s['cameras_counted']} count towards coverage.",
        f"Area: {len(result.grid_stats)} grids, {s['area_m2'] / 1e6:.3f} km² in {s['cells']} H3 "
        f"cells at resolution {s['res']} (mean {s['area_m2'] / max(s['cells'], 1):.0f} m² per "
        f"cell); metres computed in {s['metric_crs']}.",
        f"Views: {'occluded by buildings' if s['occlusion'] else 'not occluded (no buildings)'}.",
        "Rule: a cell is covered when its centroid lies inside the view of at least one "
        "counted (online) camera."
        if s.get("visibility") != "3d"
        else "Rule (3D): a cell is covered when at least one counted (online) camera sees its "
        "centroid: in its fields, at detect level or better, no building prism in the way.",
        "",
        f"Covered: {_fmt_pct(s['covered_pct'])} of the area ({s['covered_m2'] / 1e6:.3f} km²), "
        f"{_fmt_pct(s['open_covered_pct'])} of open ground outside buildings.",
        f"Priority-weighted coverage: {_fmt_pct(s['priority_weighted_pct'])} "
        f"({s['priority_cells']} priority cells; weights: {s['weights']}{uniform}).",
        f"Blind spots: {s['blind_spots']} ({s['blind_spot_area_m2'] / 1e4:.2f} ha, total weight "
        f"{s['blind_spot_weight']:.1f}).",
        "",
    ]
    lines += report_lines(s)  # detail levels of a 3D run
    spots = result.blind_spots.head(top)
    if len(spots):
        lines.append(f"Top {len(spots)} blind spots (heaviest first):")
        lines.append(
            f"  {'rank':>4}  {'grid':<20} {'area m²':>9} {'weight':>8}  "
            f"{'nearest camera (m)':<25} {'nearest offline (m)':<25} nearest post (m)"
        )
        for _, r in spots.iterrows():
            cam = _nearest_text(r, "nearest_camera")
            off = _nearest_text(r, "nearest_offline_camera")
            post = _nearest_text(r, "nearest_post")
            lines.append(
                f"  {r['blind_spot']:>4}  {r['grid_code'] or '-':<20} {r['area_m2']:>9.0f} "
                f"{r['weight']:>8.1f}  {cam:<25} {off:<25} {post}"
            )
        lines.append("")
    g = result.grid_stats
    missed = g[~g["targets_met"]]
    targets = ", ".join(f"{k} ≥ {v:g}" for k, v in st.weights.targets.items()) or "none"
    lines.append(f"Targets ({targets}): missed in {len(missed)} of {len(g)} grids.")
    for lv in (1, 2):
        sub = g[g["level"] == lv].sort_values("covered_pct")
        if len(sub):
            lines.append(f"Level {lv} grids, least covered first:")
            for _, r in sub.head(5).iterrows():
                lines.append(
                    f"  {r['code']:<20} covered {_fmt_pct(r['covered_pct']):>6}  weighted "
                    f"{_fmt_pct(r['priority_weighted_pct']):>6}  cameras {r['cameras_online']} on "
                    f"+{r['cameras_unknown']} unknown +{r['cameras_offline']} off  "
                    f"blind spots {r['blind_spots']}"
                    + (f"  missed: {r['targets_missed']}" if r["targets_missed"] else "")
                )
    if result.notes:
        lines += ["", f"Notes ({len(result.notes)}):"] + [f"  - {n}" for n in result.notes]
    lines += [
        "",
        "Files: views, cells, blind_spots, grid_stats (.geojson, .parquet), grid_stats.csv, "
        "summary.csv. Definitions: docs/COVERAGE.md.",
        "",
    ]
    return "\n".join(lines)
