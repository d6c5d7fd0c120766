"""Write an analysis to a folder: GeoJSON + GeoParquet tables, CSV summary, text report.

Files (``write_analysis``): ``views``, ``cells``, ``blind_spots``, ``grid_stats`` as
``.geojson`` (EPSG:4326, RFC 7946) and ``.parquet`` (GeoParquet); ``grid_stats.csv``
(no geometry); ``summary.csv`` (key, value); ``report.txt`` (``text_report``); on request
``cell_cameras.csv`` (every covering (cell, camera) pair).

Every file is first written into a staging folder next to the output folder
(``staged_output``); only when all of them are written do they replace the files of the
same name in the output folder (``os.replace``: each one atomic). A run that fails while
writing leaves the output folder exactly as it was (a previous good result stays whole).
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.analysis import AnalysisResult
from gridcover.errors import InputError

__all__ = ["TABLES", "cell_camera_table", "staged_output", "text_report", "write_analysis"]

TABLES = ("views", "cells", "blind_spots", "grid_stats")

WriteProgress = Callable[[str, int, int], None]
"""progress(file name, files done, total files)."""


def _geojson_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object or str(out[col].dtype).startswith("string"):
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


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
    ``out_dir`` changes unless every file was written (see ``staged_output``).
    """
    step = progress or (lambda _f, _i, _n: None)
    text = text_report(result) if report is None else report
    jobs: list[tuple[str, Callable[[Path], object]]] = []
    for name in TABLES:
        gdf: gpd.GeoDataFrame = getattr(result, name)
        if "geojson" in formats:
            jobs.append((f"{name}.geojson", partial(_write_geojson, gdf)))
        if "parquet" in formats:
            jobs.append((f"{name}.parquet", partial(_write_parquet, gdf)))
    stats = pd.DataFrame(result.grid_stats.drop(columns="geometry"))
    jobs.append(("grid_stats.csv", lambda p: stats.to_csv(p, index=False)))
    if cell_cameras:
        pairs = cell_camera_table(result)
        jobs.append(("cell_cameras.csv", lambda p: pairs.to_csv(p, index=False)))
    jobs.append(("summary.csv", lambda p: _write_summary(result, p)))
    jobs.append(("report.txt", lambda p: p.write_text(text, encoding="utf-8")))
    with staged_output(out_dir) as stage:
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


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    _geojson_ready(gdf).to_file(path, driver="GeoJSON", engine="pyogrio")


def _write_parquet(gdf: gpd.GeoDataFrame, path: Path) -> None:
    gdf.to_parquet(path, index=False)


def _write_summary(result: AnalysisResult, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "value"])
        for k, v in result.summary.items():
            w.writerow([k, v])


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
