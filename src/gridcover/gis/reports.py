"""Reports for meetings: an HTML report, an XLSX and a CSV table per grid, a PNG map.

``write_report(out_dir, grid_stats=..., cells=..., blind_spots=..., views=..., summary=...)``
writes, from one call:

* ``grid_report.xlsx``: sheet 1 one row per grid (row 1 labels in the report language, row 2
  the column keys, data from row 3; raw values, display formats only), sheet 2 the blind
  spots, sheet 3 the summary;
* ``grid_report.csv``: the same grid table (header = column keys; UTF-8 with BOM for Excel);
* ``map.png``: the static map (``gis.maps.static``); ``map.html``: the offline interactive map;
* ``report.html``: summary, map, grids of levels 1-2, top blind spots, notes; standalone
  (CSS and the PNG inline, no absolute URL; links to the files beside it are relative).
"""

from __future__ import annotations

import base64
import csv
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.errors import SchemaError
from gridcover.gis.maps.builder import build_map
from gridcover.gis.maps.i18n import check_lang, field_label, label, value_label
from gridcover.gis.maps.static import static_map_png
from gridcover.gis.report_sections import (
    detail_section,
    table_section,
    targets_in_words,
    with_chiefs,
    worklist_html,
)

__all__ = ["GRID_COLUMNS", "Report", "grid_table", "write_report", "write_xlsx"]

#: Columns of the per-grid table, in order (those present in the stats are written).
GRID_COLUMNS: tuple[str, ...] = (
    "code",
    "level",
    "parent_code",
    "name",
    "area_m2",
    "covered_pct",
    "open_covered_pct",
    "priority_weighted_pct",
    "pct_l2",
    "pct_l3",
    "night_pct_l1",
    "cameras_online",
    "cameras_offline",
    "cameras_unknown",
    "cameras_total",
    "blind_spots",
    "blind_spot_area_m2",
    "targets_met",
    "targets_missed",
)
BLIND_COLUMNS = ("blind_spot", "grid_code", "weight", "area_m2", "cells", "nearest_camera",
                 "nearest_camera_m", "nearest_offline_camera", "nearest_offline_camera_m",
                 "nearest_post", "nearest_post_m")  # fmt: skip
SUMMARY_KEYS = ("res", "cells", "area_m2", "covered_pct", "open_covered_pct",
                "priority_weighted_pct", "priority_cells", "cameras", "cameras_online",
                "cameras_offline", "blind_spots", "blind_spot_area_m2", "grids",
                "grids_missing_targets", "observe_pct", "recognise_pct", "identify_pct",
                "recognise_weighted_pct", "night_detect_pct",
                "cells_below_required_level")  # fmt: skip
_FORMATS = {"pct": "0.0", "m2": "#,##0", "_m": "#,##0", "weight": "0.0"}


@dataclass(frozen=True)
class Report:
    """Files written by :func:`write_report` and the notes gathered on the way."""

    html: Path
    xlsx: Path
    csv: Path
    png: Path
    map_html: Path | None
    notes: tuple[str, ...]

    @property
    def files(self) -> list[Path]:
        return [p for p in (self.html, self.xlsx, self.csv, self.png, self.map_html) if p]


def grid_table(grid_stats: pd.DataFrame) -> pd.DataFrame:
    """One row per grid (sorted by level, then code) with :data:`GRID_COLUMNS` present."""
    for col in ("code", "level"):
        if col not in grid_stats.columns:
            raise SchemaError(
                f"The grid statistics have no '{col}' column; give the grid_stats table of "
                "'gridcover analyze'."
            )
    df = pd.DataFrame(grid_stats.drop(columns="geometry", errors="ignore")).copy()
    cams = [c for c in ("cameras_online", "cameras_offline", "cameras_unknown") if c in df]
    if cams and "cameras_total" not in df:
        df["cameras_total"] = df[cams].sum(axis=1)
    cols = [c for c in GRID_COLUMNS if c in df.columns]
    df["code"] = df["code"].astype(str)
    return df[cols].sort_values(["level", "code"], kind="stable").reset_index(drop=True)


def _number_format(col: str) -> str | None:
    return next((f for k, f in _FORMATS.items() if col.endswith(k)), None)


def _cell(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _sheet(ws: Any, table: pd.DataFrame, lang: str) -> None:
    from openpyxl.styles import Font, PatternFill

    cols = list(table.columns)
    ws.append([field_label(c, lang) for c in cols])
    ws.append(cols)
    for row in table.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    bold, grey = Font(bold=True), Font(italic=True, color="808080", size=8)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, col in enumerate(cols, start=1):
        ws.cell(1, j).font, ws.cell(1, j).fill, ws.cell(2, j).font = bold, fill, grey
        fmt = _number_format(col)
        if fmt:
            for i in range(3, len(table) + 3):
                ws.cell(i, j).number_format = fmt
        width = max(len(field_label(col, lang)) * 2, len(col), 8)
        ws.column_dimensions[ws.cell(1, j).column_letter].width = min(width + 2, 40)
    ws.freeze_panes = "B3"
    if len(table):
        ws.auto_filter.ref = f"A2:{ws.cell(2, len(cols)).column_letter}{len(table) + 2}"


def write_xlsx(path: Path, grids: pd.DataFrame, spots: pd.DataFrame | None,
               summary: Mapping[str, Any], lang: str) -> Path:  # fmt: skip
    """The workbook: grids, blind spots, summary (see module docstring for the layout)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = label("report.grids", lang)[:31]
    _sheet(ws, grids, lang)
    if spots is not None:
        _sheet(wb.create_sheet(label("layer.blind_spots", lang)[:31]), spots, lang)
    s = wb.create_sheet(label("report.summary", lang)[:31])
    s.append([label("report.key", lang), "key", label("report.value", lang)])
    for k, v in summary.items():
        s.append([label(f"summary.{k}", lang), k, _cell(v) if not isinstance(v, dict) else str(v)])
    wb.save(path)
    return path


def _fmt_html(col: str, v: Any, lang: str) -> str:
    v = _cell(v)
    if v is None:
        return "—"
    if isinstance(v, bool):
        return value_label(v, lang)
    if isinstance(v, float):
        return f"{v:,.1f}" if col.endswith(("pct", "weight")) else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return html.escape(str(v))


def _html_table(df: pd.DataFrame, lang: str) -> str:
    head = "".join(f"<th>{html.escape(field_label(c, lang))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt_html(c, v, lang)}</td>" for c, v in zip(df.columns, row,
                                                                             strict=True)) + "</tr>"
        for row in df.itertuples(index=False)
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", Arial, sans-serif;
  margin: 24px auto; max-width: 1100px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #ddebf7; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #ccc; } .note { color: #555; font-size: 12px; }
img.sketch { width: 120px; }
"""


def _report_html(title: str, grids: pd.DataFrame, spots: pd.DataFrame | None,
                 summary: Mapping[str, Any], png: Path, files: Sequence[Path],
                 notes: Sequence[str], lang: str, top: int,
                 extra: Sequence[str] = ()) -> str:  # fmt: skip
    img = base64.b64encode(png.read_bytes()).decode("ascii")
    parts = [f"<h1>{html.escape(title)}</h1>"]
    rows = [k for k in SUMMARY_KEYS if k in summary]
    if rows:
        parts.append(f"<h2>{html.escape(label('report.summary', lang))}</h2><table>")
        parts += [f"<tr><th>{html.escape(label(f'summary.{k}', lang))}</th>"
                  f"<td>{_fmt_html(k, summary[k], lang)}</td></tr>" for k in rows]  # fmt: skip
        parts.append("</table>")
    parts.append(f"<h2>{html.escape(label('report.map', lang))}</h2>")
    parts.append(f'<img alt="map" src="data:image/png;base64,{img}"/>')
    parts.append(f"<h2>{html.escape(label('report.grids', lang))}</h2>")
    parts.append(_html_table(grids[grids["level"] <= 2], lang))
    n3 = int((grids["level"] == 3).sum())
    if n3:
        parts.append(f'<p class="note">{html.escape(label("report.level3_note", lang, n=n3))}</p>')
    if spots is not None and len(spots):
        parts.append(f"<h2>{html.escape(label('report.blind_spots', lang, n=top))}</h2>")
        parts.append(_html_table(spots.head(top), lang))
    parts += list(extra)
    if notes:
        parts.append(f"<h2>{html.escape(label('report.notes', lang))}</h2><ul>")
        parts += [f"<li>{html.escape(n)}</li>" for n in notes]
        parts.append("</ul>")
    parts.append(f"<h2>{html.escape(label('report.files', lang))}</h2><ul>")
    parts += [f'<li><a href="{html.escape(p.name)}">{html.escape(p.name)}</a></li>' for p in files]
    parts.append("</ul>")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"/>'
        f'<link rel="icon" href="data:,"/><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_report(
    out_dir: str | Path,
    *,
    grid_stats: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame | None = None,
    blind_spots: gpd.GeoDataFrame | None = None,
    views: gpd.GeoDataFrame | None = None,
    summary: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    lang: str = "zh",
    title: str | None = None,
    top: int = 20,
    interactive_map: bool = True,
    map_layers: Mapping[str, gpd.GeoDataFrame | None] | None = None,
    grids_layer: pd.DataFrame | None = None,
    units: gpd.GeoDataFrame | None = None,
    proposals: gpd.GeoDataFrame | None = None,
    comparison: tuple[str, str, pd.DataFrame] | None = None,
) -> Report:
    """Write the report files into ``out_dir`` (created). Tables as ``gridcover analyze``
    writes them (EPSG:4326); ``map_layers``: more layers for map.html (cameras, posts,
    zones, siting, ...: patrol and siting sections appear when zones / siting are given);
    ``grids_layer``: the grids with ``chief_name`` / ``chief_phone``; ``units`` /
    ``proposals``: the work units and their proposed cameras (work-list section, sketches);
    ``comparison``: (A, B, KPI table of ``scenarios.compare_scenarios``)."""
    lang = check_lang(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = title or label("report.title", lang)
    grids = with_chiefs(grid_table(grid_stats), grids_layer)
    if "targets_missed" in grids.columns:
        grids["targets_missed"] = [targets_in_words(m, lang) for m in grids["targets_missed"]]
    if views is not None:  # "occluded by buildings" only when the run used buildings
        views = views.copy()
        views.attrs["occlusion"] = bool((summary or {}).get("occlusion", False))
    spots = None
    if blind_spots is not None:
        cols = [c for c in BLIND_COLUMNS if c in blind_spots.columns]
        spots = pd.DataFrame(blind_spots[cols]).sort_values(cols[0]).reset_index(drop=True)
    summ = dict(summary or {})
    all_notes = list(notes)

    csv_path = out / "grid_report.csv"
    grids.to_csv(csv_path, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_MINIMAL)
    xlsx = write_xlsx(out / "grid_report.xlsx", grids, spots, summ, lang)
    png = static_map_png(out / "map.png", grids=grid_stats, cells=cells, blind_spots=blind_spots,
                         views=views, title=title, lang=lang)  # fmt: skip
    all_notes += png.notes
    map_path = None
    if interactive_map:
        extra: dict[str, Any] = dict(map_layers or {})
        m = build_map(grids=grid_stats, cells=cells, blind_spots=blind_spots, views=views,
                      lang=lang, title=title, **extra)  # fmt: skip
        map_path = m.save(out / "map.html")
        all_notes += m.notes
    files = [p for p in (xlsx, csv_path, png.path, map_path) if p is not None]
    sections = detail_section(summ, lang)
    sections += _sections(lang, top, map_layers or {}, units, proposals, comparison)
    page = _report_html(title, grids, spots, summ, png.path, files, all_notes, lang, top,
                        sections)  # fmt: skip
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return Report(html_path, xlsx, csv_path, png.path, map_path, tuple(all_notes))


def _sections(
    lang: str,
    top: int,
    layers: Mapping[str, gpd.GeoDataFrame | None],
    units: gpd.GeoDataFrame | None,
    proposals: gpd.GeoDataFrame | None,
    comparison: tuple[str, str, pd.DataFrame] | None,
) -> list[str]:
    """Work list, patrol, siting and scenario sections (those whose results are given)."""
    out = []
    if units is not None and len(units):
        out.append(worklist_html(units, proposals, lang, min(top, 15)))
    zones = layers.get("zones")
    if zones is not None and len(zones):
        cols = ("post_id", "name", "area_m2", "cells", "workload", "compactness")
        out.append(table_section(label("report.patrol", lang), zones, cols, lang))
    siting = layers.get("siting")
    if siting is not None and len(siting):
        s_cols = ("rank", "camera_id", "model", "type", "resolution", "height_m", "tilt_deg",
                  "azimuth_deg", "price", "marginal_gain")  # fmt: skip
        out.append(table_section(label("report.siting", lang), siting, s_cols, lang))
    if comparison is not None:
        a, b, kpis = comparison
        out.append(table_section(label("report.compare", lang, a=a, b=b), kpis,
                                 ("level", "kpi", "a", "b", "delta"), lang))  # fmt: skip
    return out
