"""Build an offline Leaflet map (folium) from analysis GeoDataFrames.

``build_map(grids=..., cells=..., blind_spots=..., views=..., cameras=..., posts=...,
zones=..., siting=..., qa_issues=..., basemap="none", lang="zh")`` returns a
:class:`GridcoverMap`; ``.html()`` renders a standalone page (Leaflet inlined, no URL),
``.html(asset_base="/static/maps")`` a page that loads the files of
:func:`gridcover.gis.maps.assets.asset_files` from that URL, ``.save(path)`` writes a file.
Every input is optional; columns per layer are documented in ``layers.py`` and docs/MAPS.md.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
from branca.element import Figure

from gridcover.gis.chinese_offsets import convert_geometries
from gridcover.gis.maps import layers as L
from gridcover.gis.maps.assets import asset_files
from gridcover.gis.maps.band_layer import DETAIL_COLOURS, bands_layer
from gridcover.gis.maps.basemaps import Basemap, resolve_basemap
from gridcover.gis.maps.budget import FEATURE_BUDGET
from gridcover.gis.maps.i18n import check_lang, field_label, label
from gridcover.gis.maps.legend import AssetsHead, InfoBox, Legend, LegendEntry, PagePatch
from gridcover.gis.maps.overlay import GeoJsonOverlay, feature_collection
from gridcover.gis.maps.zone_layer import ZONE_COLOURS, zones_layer

__all__ = ["GridcoverMap", "build_map", "map_html"]

#: Folder written next to an HTML file saved with ``assets="folder"``.
ASSET_FOLDER = "gridcover-map-assets"


class _OfflineMap(folium.Map):
    """folium.Map without folium's CDN links (Leaflet comes from :class:`AssetsHead`)."""

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 (folium's class-level API)
    default_css: list[tuple[str, str]] = []  # noqa: RUF012


@dataclass(frozen=True, eq=False)
class GridcoverMap:
    """A built map: the folium map, its overlays (bottom to top), notes and basemap."""

    map: folium.Map
    overlays: tuple[GeoJsonOverlay, ...]
    notes: tuple[str, ...]
    basemap: Basemap
    lang: str
    _assets: AssetsHead

    def html(self, asset_base: str | None = None) -> str:
        """The page as HTML: Leaflet inlined (``asset_base=None``) or linked under it."""
        self._assets.asset_base = asset_base
        try:
            return str(self.map.get_root().render())
        finally:
            self._assets.asset_base = None

    def save(self, path: str | Path, assets: str = "inline") -> Path:
        """Write the page to ``path``. ``assets``: "inline" (one self-contained file) or
        "folder" (the files copied to ``gridcover-map-assets/`` beside it, linked relatively)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        if assets == "inline":
            out.write_text(self.html(), encoding="utf-8")
        elif assets == "folder":
            for rel, src in asset_files().items():
                dst = out.parent / ASSET_FOLDER / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
            out.write_text(self.html(asset_base=ASSET_FOLDER), encoding="utf-8")
        else:
            raise ValueError(f"assets must be 'inline' or 'folder', not {assets!r}")
        return out

    def _repr_html_(self) -> str:  # notebooks: folium's iframe around the inline page
        self._assets.asset_base = None
        return str(self.map._repr_html_())


def _shift(layer: L.MapLayer, coord_sys: str) -> L.MapLayer:
    if coord_sys == "wgs84" or len(layer.frame) == 0:
        return layer
    f = layer.frame.copy()
    f.geometry = gpd.GeoSeries(
        convert_geometries(np.asarray(f.geometry.values), "wgs84", coord_sys), crs="EPSG:4326"
    )
    return L.MapLayer(
        layer.key, layer.name, f, layer.fields, layer.style, layer.radius, layer.show, layer.notes
    )


def _legend(
    keys: set[str],
    lang: str,
    aggregated: bool,
    siting_text: str = "legend.siting",
    detail: bool = False,
) -> list[tuple[str, list[LegendEntry]]]:
    groups: list[tuple[str, list[LegendEntry]]] = []
    if "cells" in keys and detail:  # 3D run: cells coloured by their best detail level
        rows = [LegendEntry("fill", L.CAMERA_CLASSES[0][1], label("value.level0", lang))]
        rows += [
            LegendEntry("fill", c, label(f"value.level{k}", lang))
            for k, c in DETAIL_COLOURS.items()
        ]
        groups.append((label("legend.detail_per_cell", lang) + (" *" if aggregated else ""), rows))
    elif "cells" in keys:
        rows = [
            LegendEntry(
                "fill",
                c,
                label("legend.none", lang)
                if k == 0
                else (f"≥ {k}" if k == len(L.CAMERA_CLASSES) - 1 else str(k)),
            )
            for k, c in L.CAMERA_CLASSES
        ]
        title = label("legend.cameras_per_cell", lang)
        groups.append((title + (" *" if aggregated else ""), rows))
    other: list[LegendEntry] = []
    if any(k.startswith("grids.") for k in keys):
        other.append(LegendEntry("line", "#252525", label("legend.grid", lang)))
    for key, kind, colour, text, border in (
        ("zones", "fill", ZONE_COLOURS[0], "legend.zone", None),
        ("views", "fill", "#9ecae1", "legend.view", "#3182bd"),
        *(("bands", "fill", c, f"value.level{k}", None) for k, c in DETAIL_COLOURS.items()),
        ("blind_spots", "fill", "#e31a1c", "legend.blind_spot", "#b10026"),
        ("qa", "fill", "#c51b8a", "legend.qa_error", None),
        ("qa", "fill", "#fdae6b", "legend.qa_warning", None),
        ("cameras", "dot", "#08519c", "legend.camera_online", None),
        ("cameras", "dot", "#737373", "legend.camera_offline", None),
        ("posts", "dot", "#ffd92f", "legend.post", "#000000"),
        ("siting", "dot", "#9e9ac8", siting_text, "#54278f"),
    ):
        if key in keys:
            other.append(LegendEntry(kind, colour, label(text, lang), border))
    if other:
        groups.append(("", other))
    return groups


def build_map(
    *,
    grids: gpd.GeoDataFrame | None = None,
    cells: gpd.GeoDataFrame | None = None,
    blind_spots: gpd.GeoDataFrame | None = None,
    views: gpd.GeoDataFrame | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    posts: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    bands: gpd.GeoDataFrame | None = None,
    siting: gpd.GeoDataFrame | None = None,
    qa_issues: gpd.GeoDataFrame | None = None,
    basemap: str | Basemap | None = "none",
    basemap_key: str | None = None,
    lang: str = "zh",
    budget: int = FEATURE_BUDGET,
    title: str | None = None,
    extra_notes: Sequence[str] = (),
) -> GridcoverMap:
    """A map of the given layers (GeoDataFrames in any CRS; shown in EPSG:4326 or, with the
    AMap basemap, shifted to GCJ-02). ``budget``: most features per layer (see budget.py)."""
    lang = check_lang(lang)
    bm = basemap if isinstance(basemap, Basemap) else resolve_basemap(basemap, basemap_key)
    made: list[L.MapLayer] = []
    if cells is not None:
        made.append(L.cells_layer(cells, lang, budget))
    if zones is not None:
        # Over the coverage cells the zones start hidden (tick them in the layer control).
        made.append(zones_layer(zones, lang, show=cells is None))
    if grids is not None:
        made += sorted(L.grid_layers(grids, lang, budget), key=lambda m: -int(m.key.split(".")[1]))
    for gdf, fn in (
        (bands, bands_layer),
        (views, L.views_layer),
        (blind_spots, L.blind_spots_layer),
        (qa_issues, L.qa_layer),
        (cameras, L.cameras_layer),
    ):
        if gdf is not None:
            made.append(fn(gdf, lang, budget))
    if posts is not None:
        made.append(L.posts_layer(posts, lang))
    if siting is not None:
        made.append(L.siting_layer(siting, lang, budget))
    made = [_shift(m, bm.coord_sys) for m in made]

    bounds = _bounds(made)
    empty = not np.all(np.isfinite(bounds))
    centre = [0.0, 0.0] if empty else [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]
    m = _OfflineMap(
        location=centre,
        zoom_start=2 if empty else 15,
        tiles=None,
        control_scale=True,
        max_zoom=22 if not bm.tiles else max(t.max_zoom for t in bm.tiles),
    )
    assets = AssetsHead()
    root = cast(Figure, m.get_root())  # folium.Map always sits in a Figure
    root.header.add_child(assets, name="gridcover_assets", index=0)
    for t in bm.tiles:
        folium.TileLayer(
            tiles=t.url,
            attr=t.attribution or " ",
            name=label("layer.basemap", lang),
            subdomains=t.subdomains or "abc",
            max_zoom=t.max_zoom,
            max_native_zoom=t.max_zoom,
            overlay=t.overlay,
            control=False,
        ).add_to(m)
    overlays = []
    for layer in made:
        ov = GeoJsonOverlay(
            feature_collection(layer.frame, layer.fields),
            name=layer.name,
            fields=layer.fields,
            aliases=tuple(field_label(f, lang) for f in layer.fields),
            style=layer.style,
            radius=layer.radius or 5.0,
            show=layer.show,
            key=layer.key,
        )
        ov.add_to(m)
        overlays.append(ov)
    notes = [n for layer in made for n in layer.notes]
    if bm.coord_sys != "wgs84":
        notes.append(label("note.gcj02", lang))
    notes.append(label("note.budget", lang, budget=f"{budget:,}"))
    notes += list(extra_notes)
    aggregated = any(layer.key == "cells" and layer.notes for layer in made)
    posts_siting = siting is not None and "camera_id" not in siting.columns
    siting_text = "legend.siting_posts" if posts_siting else "legend.siting"
    detail = cells is not None and "detail_level" in cells.columns
    Legend(_legend({x.key for x in made}, lang, aggregated, siting_text, detail), lang).add_to(m)
    InfoBox(title if title is not None else _title(made, lang), notes).add_to(m)
    PagePatch().add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if not empty:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return GridcoverMap(m, tuple(overlays), tuple(notes), bm, lang, assets)


def _title(made: list[L.MapLayer], lang: str) -> str:
    """Default title: the coverage report's, unless the map is about zones, siting or QA."""
    keys = {m.key for m in made}
    if "cells" not in keys:
        for key, text in (("zones", "map.title.patrol"), ("siting", "map.title.siting"),
                          ("qa", "map.title.qa")):  # fmt: skip
            if key in keys:
                return label(text, lang)
    return label("report.title", lang)


def _bounds(made: list[L.MapLayer]) -> np.ndarray:
    boxes = [m.frame.total_bounds for m in made if len(m.frame)]
    if not boxes:
        return np.array([np.nan] * 4)
    b = np.array(boxes)
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def map_html(asset_base: str | None = None, **layers: Any) -> str:
    """HTML of ``build_map(**layers)``: Leaflet inlined, or linked under ``asset_base``
    (e.g. ``"/static/maps"``; serve :func:`asset_files` there)."""
    return build_map(**layers).html(asset_base=asset_base)
