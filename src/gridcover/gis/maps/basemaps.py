"""Basemap choices: none (default, offline), a local/intranet XYZ template, OSM, Tianditu, AMap.

Only ``none`` and a local template keep a map fully offline; the others load tiles from the
internet and are used only when the user asks for them. Each basemap states the coordinate
system of its tiles: ``wgs84`` (OSM; Tianditu uses CGCS2000, which equals WGS84 to
centimetres for mapping, so no shift) or ``gcj02`` (AMap: every overlay is shifted into
GCJ-02 so it lines up). Attributions are plain text (no links).
"""

from __future__ import annotations

from dataclasses import dataclass

from gridcover.errors import InputError

__all__ = ["BASEMAP_NAMES", "Basemap", "TileSource", "resolve_basemap"]

BASEMAP_NAMES: tuple[str, ...] = ("none", "osm", "tianditu", "amap")


@dataclass(frozen=True)
class TileSource:
    """One XYZ tile layer: URL template, plain-text attribution, subdomains, zoom range."""

    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 19
    overlay: bool = False


@dataclass(frozen=True)
class Basemap:
    """A basemap: its name, tile layers (empty = none) and the coordinate system of the tiles.

    ``online``: True when the tiles come from the internet (the HTML then holds their URL).
    """

    name: str
    tiles: tuple[TileSource, ...]
    coord_sys: str = "wgs84"
    online: bool = False


def _tianditu(key: str) -> tuple[TileSource, ...]:
    def wmts(layer: str, overlay: bool) -> TileSource:
        return TileSource(
            url=(
                f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
            ),
            attribution="" if overlay else "天地图 Tianditu",
            subdomains="01234567",
            max_zoom=18,
            overlay=overlay,
        )

    return (wmts("vec", False), wmts("cva", True))


def resolve_basemap(spec: str | None = "none", key: str | None = None) -> Basemap:
    """The basemap named by ``spec``.

    ``spec``: ``none`` (default: no tiles, works offline), ``osm`` (OpenStreetMap),
    ``tianditu`` (needs ``key``, a Tianditu browser key), ``amap`` (GCJ-02 tiles), or an XYZ
    URL template with ``{z}``, ``{x}``, ``{y}`` (``{s}`` optional): a relative path or an
    intranet tile server (``http://tiles.local/{z}/{x}/{y}.png``), counted as offline when it
    is relative and online otherwise.
    """
    s = (spec or "none").strip()
    low = s.lower()
    if low in ("", "none", "off"):
        return Basemap("none", ())
    if low in ("osm", "openstreetmap"):
        return Basemap(
            "osm",
            (
                TileSource(
                    "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "© OpenStreetMap contributors",
                    subdomains="",
                ),
            ),
            online=True,
        )
    if low == "tianditu":
        if not key:
            raise InputError(
                "The Tianditu basemap needs a key: pass --basemap-key (key=...) with your "
                "Tianditu browser key, or choose another basemap."
            )
        return Basemap("tianditu", _tianditu(key), coord_sys="wgs84", online=True)
    if low in ("amap", "gaode"):
        return Basemap(
            "amap",
            (
                TileSource(
                    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                    "&style=8&x={x}&y={y}&z={z}",
                    "高德地图 AMap (GCJ-02)",
                    subdomains="1234",
                    max_zoom=18,
                ),
            ),
            coord_sys="gcj02",
            online=True,
        )
    if all(t in s for t in ("{z}", "{x}", "{y}")):
        online = "://" in s or s.startswith("//")
        return Basemap("xyz", (TileSource(s, "", subdomains="abc"),), online=online)
    raise InputError(
        f"Unknown basemap {spec!r}; use one of {', '.join(BASEMAP_NAMES)} or an XYZ URL "
        "template with {z}, {x} and {y} (e.g. tiles/{z}/{x}/{y}.png)."
    )
