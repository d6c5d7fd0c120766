"""Write an analysis to a folder: GeoJSON + GeoParquet tables, CSV summary, text report.

Files (``write_analysis``): ``views``, ``cells``, ``blind_spots``, ``grid_stats`` as
``.geojson`` (EPSG:4326, RFC 7946) and ``.parquet`` (GeoParquet); ``grid_stats.csv``
(no geometry); ``summary.csv`` (key, value); ``report.txt`` (``text_report``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.analysis import AnalysisResult

__all__ = ["TABLES", "text_report", "write_analysis"]

TABLES = ("views", "cells", "blind_spots", "grid_stats")


def _geojson_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object or str(out[col].dtype).startswith("string"):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def write_analysis(
    result: AnalysisResult, out_dir: str | Path, formats: tuple[str, ...] = ("geojson", "parquet")
) -> list[Path]:
    """Write every table of ``result`` into ``out_dir`` (created); returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in TABLES:
        gdf = getattr(result, name)
        if "geojson" in formats:
            p = out / f"{name}.geojson"
            p.unlink(missing_ok=True)
            _geojson_ready(gdf).to_file(p, driver="GeoJSON", engine="pyogrio")
            written.append(p)
        if "parquet" in formats:
            p = out / f"{name}.parquet"
            gdf.to_parquet(p, index=False)
            written.append(p)
    p = out / "grid_stats.csv"
    pd.DataFrame(result.grid_stats.drop(columns="geometry")).to_csv(p, index=False)
    written.append(p)
    p = out / "summary.csv"
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "value"])
        for k, v in result.summary.items():
            w.writerow([k, v])
    written.append(p)
    p = out / "report.txt"
    p.write_text(text_report(result), encoding="utf-8")
    written.append(p)
    return written


def _fmt_pct(v: float) -> str:
    return "n/a" if not np.isfinite(v) else f"{v:.1f}%"


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
        "counted (online) camera.",
        "",
        f"Covered: {_fmt_pct(s['covered_pct'])} of the area ({s['covered_m2'] / 1e6:.3f} km²), "
        f"{_fmt_pct(s['open_covered_pct'])} of open ground outside buildings.",
        f"Priority-weighted coverage: {_fmt_pct(s['priority_weighted_pct'])} "
        f"({s['priority_cells']} priority cells; weights: {s['weights']}{uniform}).",
        f"Blind spots: {s['blind_spots']} ({s['blind_spot_area_m2'] / 1e4:.2f} ha, total weight "
        f"{s['blind_spot_weight']:.1f}).",
        "",
    ]
    spots = result.blind_spots.head(top)
    if len(spots):
        lines.append(f"Top {len(spots)} blind spots (heaviest first):")
        lines.append(
            f"  {'rank':>4}  {'grid':<20} {'area m²':>9} {'weight':>8}  "
            f"{'nearest camera (m)':<25} nearest post (m)"
        )
        for _, r in spots.iterrows():
            cam = (
                "-"
                if r["nearest_camera"] is None
                else f"{r['nearest_camera']} ({r['nearest_camera_m']:.0f})"
            )
            post = (
                "-"
                if r["nearest_post"] is None
                else f"{r['nearest_post']} ({r['nearest_post_m']:.0f})"
            )
            lines.append(
                f"  {r['blind_spot']:>4}  {r['grid_code'] or '-':<20} {r['area_m2']:>9.0f} "
                f"{r['weight']:>8.1f}  {cam:<25} {post}"
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
                    f"{_fmt_pct(r['priority_weighted_pct']):>6}  cameras {r['cameras_online']}+"
                    f"{r['cameras_offline']} off  blind spots {r['blind_spots']}"
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
