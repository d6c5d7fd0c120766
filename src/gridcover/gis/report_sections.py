"""Sections of the meeting report beyond the coverage tables (used by ``gis.reports``).

- ``targets_in_words``: "roads_pct<80; sites_pct<100" -> "道路覆盖率低于 80%；重点部位…";
- ``with_chiefs``: the grid table with the grid chiefs' names and phones of the grids layer;
- ``worklist_html``: the top blind-spot work units with a sketch each (the unit's outline,
  the cameras proposed for it, the units around it), as inline PNG;
- ``detail_section``: a 3D run's share of the area (and of the priority weight) seen at each
  detail level or better, day and night, from the run's summary;
- ``table_html``-based sections for patrol zones, proposed cameras and a scenario
  comparison (KPI table with deltas), shown only when those results are given.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd

from gridcover.gis.maps.i18n import label

__all__ = ["detail_section", "targets_in_words", "with_chiefs", "worklist_html"]

CHIEF_COLUMNS = ("chief_name", "chief_phone")


def targets_in_words(missed: object, lang: str) -> str:
    """Missed targets ("key<goal" joined by "; ") in words; '' when none."""
    if not isinstance(missed, str) or not missed.strip():
        return ""
    out = []
    for part in missed.split(";"):
        key, _, goal = part.strip().partition("<")
        try:
            out.append(label(f"target.{key}", lang, goal=float(goal)))
        except ValueError:
            out.append(part.strip())
    return ("；" if lang == "zh" else "; ").join(out)


def with_chiefs(grids: pd.DataFrame, layer: pd.DataFrame | None) -> pd.DataFrame:
    """``grids`` (the report's grid table) with ``chief_name`` / ``chief_phone`` of the
    grids layer, matched by code (columns absent from the layer stay absent)."""
    if layer is None or "code" not in layer.columns:
        return grids
    cols = [c for c in CHIEF_COLUMNS if c in layer.columns]
    if not cols:
        return grids
    chiefs = pd.DataFrame(layer[["code", *cols]]).copy()
    chiefs["code"] = chiefs["code"].astype(str)
    chiefs = chiefs.drop_duplicates("code")
    out = grids.drop(columns=[c for c in cols if c in grids.columns]).merge(
        chiefs, on="code", how="left"
    )
    pos = list(out.columns).index("code") + 1 + int("name" in out.columns)
    order = [c for c in out.columns if c not in cols]
    return out[order[:pos] + cols + order[pos:]]


def _png(draw: Callable[[object], None], size: tuple[float, float] = (2.4, 2.4)) -> str:
    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=80)
    ax = fig.add_axes((0, 0, 1, 1))
    draw(ax)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _sketch(unit: gpd.GeoSeries, near: gpd.GeoDataFrame, cams: gpd.GeoDataFrame) -> str:
    """Inline PNG: the unit (red), units around it (grey), proposed cameras (blue)."""

    def draw(ax: object) -> None:
        g = unit.to_crs(3857)
        x0, y0, x1, y1 = g.total_bounds
        pad = max(x1 - x0, y1 - y0, 60.0) * 0.6
        box = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        if len(near):
            near.to_crs(3857).cx[box[0] : box[2], box[1] : box[3]].plot(
                ax=ax, color="#dddddd", edgecolor="#999999", linewidth=0.3
            )
        g.plot(ax=ax, color="#e31a1c", alpha=0.7, edgecolor="#99000d")
        if len(cams):
            cams.to_crs(3857).plot(ax=ax, color="#08519c", markersize=40, marker="^")
        ax.set_xlim(box[0], box[2])  # type: ignore[attr-defined]
        ax.set_ylim(box[1], box[3])  # type: ignore[attr-defined]
        ax.set_aspect("equal")  # type: ignore[attr-defined]

    return _png(draw)


def worklist_html(
    units: gpd.GeoDataFrame, proposals: gpd.GeoDataFrame | None, lang: str, top: int
) -> str:
    """The work-list section: top ``top`` units (rank order) with sketches."""
    t = units.sort_values("rank").head(top) if "rank" in units.columns else units.head(top)
    cols = [c for c in ("rank", "unit_id", "kind", "name", "grid_l1", "chief_name",
                        "weight", "area_m2", "fix_text") if c in t.columns]  # fmt: skip
    head = "".join(f"<th>{html.escape(label(f'field.{c}', lang))}</th>" for c in cols)
    head += f"<th>{html.escape(label('field.thumbnail', lang))}</th>"
    rows = []
    for i in range(len(t)):
        r = t.iloc[i]
        cams = (
            proposals[proposals["unit_id"] == r["unit_id"]]
            if proposals is not None and len(proposals) and "unit_id" in proposals.columns
            else gpd.GeoDataFrame(geometry=[], crs=4326)
        )
        img = _sketch(t.iloc[[i]].geometry, units, cams)
        cells = "".join(f"<td>{_fmt(r[c])}</td>" for c in cols)
        rows.append(f'<tr>{cells}<td><img class="sketch" alt="{html.escape(str(r["unit_id"]))}" '
                    f'src="data:image/png;base64,{img}"/></td></tr>')  # fmt: skip
    title = html.escape(label("report.worklist", lang, n=len(t)))
    body = "".join(rows)
    return f"<h2>{title}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, float | np.floating):
        return f"{float(v):,.1f}"
    return html.escape(str(v))


def table_section(title: str, df: pd.DataFrame, cols: tuple[str, ...], lang: str) -> str:
    """A titled table of the ``cols`` of ``df`` that are present."""
    use = [c for c in cols if c in df.columns]
    head = "".join(f"<th>{html.escape(label(f'field.{c}', lang))}</th>" for c in use)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
        for row in pd.DataFrame(df[use]).itertuples(index=False)
    )
    return (f"<h2>{html.escape(title)}</h2><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")  # fmt: skip


_LEVEL_NAMES = ("detect", "observe", "recognise", "identify")


def detail_section(summary: Mapping[str, Any], lang: str) -> list[str]:
    """The detail-levels table of a 3D run (``summary["visibility"] == "3d"``), else nothing:
    one row per level (detect 25, observe 62.5, recognise 125, identify 250 px/m), the % of
    the area and of the priority weight seen at that level or better, by day and at night."""
    if summary.get("visibility") != "3d":
        return []
    rows = []
    for k, name in enumerate(_LEVEL_NAMES, start=1):
        row: dict[str, Any] = {"detail": label(f"value.level{k}", lang)}
        for pre, col in (("", "day"), ("night_", "night")):
            row[f"{col}_pct"] = round(float(summary[f"{pre}{name}_pct"]), 1)
            row[f"{col}_weighted_pct"] = round(float(summary[f"{pre}{name}_weighted_pct"]), 1)
        rows.append(row)
    cols = ("detail", "day_pct", "day_weighted_pct", "night_pct", "night_weighted_pct")
    return [table_section(label("report.detail", lang), pd.DataFrame(rows), cols, lang)]
