"""Static PNG map for documents (matplotlib, Agg backend: no display, no network).

Drawn in the local metric CRS (``gis.crs.local_metric_crs``) so shapes and the scale bar are
true: coverage cells by cameras per cell, blind spots, camera views, grid outlines (level 1
thick, level 2 thin), a legend, a scale bar and a north arrow. Chinese labels need a CJK
font; when matplotlib has none, the labels fall back to English and ``StaticMap.notes``
says so (no tofu boxes in a meeting document).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np

from gridcover.gis.crs import local_metric_crs
from gridcover.gis.maps.i18n import check_lang, label
from gridcover.gis.maps.layers import (
    CAMERA_CLASSES,
    DETAIL_COLOURS,
    GRID_COLOUR,
    GRID_WEIGHT,
    camera_class,
)

__all__ = ["StaticMap", "cjk_font", "static_map_png"]

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "AR PL UMing CN",
)


@dataclass(frozen=True)
class StaticMap:
    """A written PNG: its path, pixel size, the language used and notes."""

    path: Path
    width_px: int
    height_px: int
    lang: str
    notes: tuple[str, ...]


#: Font files of common Chinese fonts (Debian/Ubuntu fonts-noto-cjk, WenQuanYi, macOS, Windows)
#: registered with matplotlib when its font cache predates their installation.
CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def cjk_font() -> str | None:
    """Name of an installed font that has Chinese glyphs, or None.

    Looks in matplotlib's font list first; when a stale cache does not know the installed
    Chinese fonts, the font files of ``CJK_FILES`` are registered (``addfont``) and used.
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((n for n in CJK_FONTS if n in names), None)
    if found is not None:
        return found
    for path in CJK_FILES:
        if Path(path).is_file():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
            return str(font_manager.FontProperties(fname=path).get_name())
    return None


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(m * base for m in (1, 2, 5) if m * base <= target))


def static_map_png(
    path: str | Path,
    *,
    grids: gpd.GeoDataFrame | None = None,
    cells: gpd.GeoDataFrame | None = None,
    blind_spots: gpd.GeoDataFrame | None = None,
    views: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    lang: str = "zh",
    size_in: tuple[float, float] = (10.0, 10.0),
    dpi: int = 150,
) -> StaticMap:
    """Write a PNG map of the layers (columns as in ``gis.maps.layers``; any CRS)."""
    lang = check_lang(lang)
    notes: list[str] = []
    font = cjk_font()
    if lang == "zh" and font is None:
        lang = "en"
        notes.append(
            "No Chinese font is installed for matplotlib (e.g. Debian fonts-noto-cjk); the PNG "
            "labels are in English."
        )
    if font is None and title is not None and not title.isascii():
        title = label("report.map", "en")  # a Chinese title would print as empty boxes
    frames = [f for f in (grids, cells, blind_spots, views) if f is not None and len(f)]
    if not frames:
        raise ValueError("static_map_png needs at least one non-empty layer")
    ll = np.vstack([f.to_crs("EPSG:4326").total_bounds for f in frames])
    crs = local_metric_crs(
        np.array([ll[:, 0].min(), ll[:, 2].max()]), np.array([ll[:, 1].min(), ll[:, 3].max()])
    )

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rc: dict[str, Any] = {"font.family": [font, "DejaVu Sans"]} if font else {}
    with matplotlib.rc_context(rc):  # type: ignore[arg-type]
        fig = Figure(figsize=size_in, dpi=dpi)
        ax = fig.add_subplot(1, 1, 1)
        handles: list[object] = []
        if cells is not None and len(cells) and "detail_level" in cells.columns:  # 3D run
            c = cells.to_crs(crs)
            grey = CAMERA_CLASSES[0][1]
            lv = c["detail_level"].to_numpy(int)
            c.plot(ax=ax, color=[DETAIL_COLOURS.get(k, grey) for k in lv], linewidth=0, alpha=0.8)
            title = label("legend.detail_per_cell", lang)
            for k, col in ((0, grey), *DETAIL_COLOURS.items()):
                handles.append(Patch(color=col, label=f"{title}: {label(f'value.level{k}', lang)}"))
        elif cells is not None and len(cells) and "cameras" in cells.columns:
            c = cells.to_crs(crs)
            cls = camera_class(c["cameras"].to_numpy(float))
            colours = np.array([CAMERA_CLASSES[k][1] for k in cls], dtype=object)
            c.plot(ax=ax, color=colours, linewidth=0, alpha=0.8)
            for k, col in CAMERA_CLASSES:
                text = label("legend.none", lang) if k == 0 else str(k)
                if k == len(CAMERA_CLASSES) - 1:
                    text = f"≥ {k}"
                handles.append(
                    Patch(color=col, label=f"{label('legend.cameras_per_cell', lang)}: {text}")
                )
        if views is not None and len(views):
            views.to_crs(crs).plot(ax=ax, facecolor="#3182bd", edgecolor="#3182bd",
                                   alpha=0.15, linewidth=0.3)  # fmt: skip
            handles.append(Patch(color="#9ecae1", label=label("legend.view", lang)))
        if blind_spots is not None and len(blind_spots):
            blind_spots.to_crs(crs).plot(ax=ax, facecolor="#e31a1c", edgecolor="#b10026",
                                         alpha=0.55, linewidth=0.4)  # fmt: skip
            handles.append(Patch(color="#e31a1c", label=label("legend.blind_spot", lang)))
        if grids is not None and len(grids):
            g = grids.to_crs(crs)
            levels = g["level"].to_numpy() if "level" in g.columns else np.ones(len(g), int)
            for lv in (2, 1):
                sub = g[levels == lv]
                if len(sub):
                    sub.boundary.plot(ax=ax, color=GRID_COLOUR[lv], linewidth=GRID_WEIGHT[lv] * 0.6)
            handles.append(Line2D([], [], color="#252525", label=label("legend.grid", lang)))
        ax.set_aspect("equal")
        ax.set_axis_off()
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        bar = _nice_length(x1 - x0)
        bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
        ax.plot([bx, bx + bar], [by, by], color="black", linewidth=3, solid_capstyle="butt")
        ax.text(bx + bar / 2, by + 0.012 * (y1 - y0), f"{bar:g} m", ha="center", va="bottom")
        ax.annotate("N", xy=(0.96, 0.97), xytext=(0.96, 0.90), xycoords="axes fraction",
                    ha="center", va="center", fontweight="bold",
                    arrowprops={"arrowstyle": "-|>", "color": "black"})  # fmt: skip
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
        ax.set_title(title if title is not None else label("report.map", lang))
        fig.text(0.01, 0.005, f"{crs.name}", fontsize=6, color="#555555")
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
        w, h = fig.canvas.get_width_height()
    return StaticMap(out, int(w), int(h), lang, tuple(notes))
