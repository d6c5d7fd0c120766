"""KML / KMZ placemarks (Google Earth, and the exports of Chinese map apps).

Each <Placemark> is a row: its name, description and ExtendedData (<Data name> and
<SimpleData name>) become text columns; Point, LineString, Polygon and MultiGeometry become
shapely geometries. Coordinates are lon/lat as the KML standard says; exports of Chinese map
apps are often GCJ-02 in fact, which the offset check of the run finds out.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from lxml import etree

from gridcover.errors import InputError
from gridcover.gis.formats import RawLayer

_GEOMETRY_TAGS = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry")
_UNSUPPORTED = ("Model", "Track", "MultiTrack")


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _coords(el: Any) -> np.ndarray:
    text = " ".join(el.findtext("{*}coordinates", default="").split())
    pts = [p.split(",") for p in text.split(" ") if p]
    return np.array([[float(p[0]), float(p[1])] for p in pts], dtype=float).reshape(-1, 2)


def _geometry(el: Any) -> Any:
    name = _local(el.tag)
    if name == "Point":
        return shapely.points(_coords(el)[0])
    if name in ("LineString", "LinearRing"):
        return shapely.linestrings(_coords(el))
    if name == "Polygon":
        outer = el.find("{*}outerBoundaryIs/{*}LinearRing")
        inner = el.findall("{*}innerBoundaryIs/{*}LinearRing")
        return shapely.Polygon(_coords(outer), [_coords(r) for r in inner])
    parts = [_geometry(c) for c in el if _local(c.tag) in (*_GEOMETRY_TAGS, *_UNSUPPORTED)]
    types = {p.geom_type for p in parts}
    if types == {"Point"}:
        return shapely.MultiPoint(parts)
    if types == {"LineString"}:
        return shapely.MultiLineString(parts)
    if types == {"Polygon"}:
        return shapely.MultiPolygon(parts)
    return shapely.GeometryCollection(parts)


def _unsupported(el: Any) -> str | None:
    for child in el.iter():
        if _local(child.tag) in _UNSUPPORTED:
            return _local(child.tag)
    return None


def read_kml(path: Path, label: str, crs: pyproj.CRS | None) -> RawLayer:
    """Read the placemarks of a .kml file, or of the main .kml inside a .kmz archive."""
    data: bytes
    if path.suffix.lower() == ".kmz":
        try:
            with zipfile.ZipFile(path) as zf:
                inner = [n for n in zf.namelist() if n.lower().endswith(".kml")]
                if not inner:
                    raise InputError(f"{label}: the KMZ holds no .kml document.")
                main = "doc.kml" if "doc.kml" in inner else inner[0]
                data = zf.read(main)
        except zipfile.BadZipFile as exc:
            raise InputError(f"{label}: the KMZ is not a zip archive ({exc}).") from None
    else:
        data = path.read_bytes()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{label}: the KML is not well-formed XML ({exc}).") from None
    rows: list[dict[str, str | None]] = []
    geoms: list[Any] = []
    for n, pm in enumerate(root.iter("{*}Placemark"), start=1):
        row: dict[str, str | None] = {
            "name": (pm.findtext("{*}name") or "").strip() or None,
            "description": (pm.findtext("{*}description") or "").strip() or None,
        }
        for d in pm.iter("{*}Data"):
            row[d.get("name", "")] = (d.findtext("{*}value") or "").strip() or None
        for d in pm.iter("{*}SimpleData"):
            row[d.get("name", "")] = (d.text or "").strip() or None
        bad = _unsupported(pm)
        if bad:
            raise InputError(
                f"{label}: placemark {n} ('{row['name'] or ''}') holds a {bad}, a KML geometry "
                "gridcover does not read; fix: export it as Point, LineString or Polygon, or "
                "delete that placemark."
            )
        el = next((c for c in pm if _local(c.tag) in _GEOMETRY_TAGS), None)
        try:
            geoms.append(_geometry(el) if el is not None else None)
        except (ValueError, IndexError, TypeError) as exc:
            raise InputError(
                f"{label}: placemark {n} ('{row['name'] or ''}') has unreadable coordinates "
                f"({exc}); fix: write them as 'lon,lat[,alt]' separated by spaces."
            ) from None
        rows.append(row)
    if not rows:
        raise InputError(f"{label}: the KML holds no <Placemark>; export the placemarks.")
    frame = pd.DataFrame(rows, dtype=object).dropna(axis=1, how="all")
    out = RawLayer(
        label,
        path.suffix.upper().lstrip("."),
        frame,
        np.asarray(geoms, dtype=object),
        crs or pyproj.CRS.from_epsg(4326),
        np.arange(1, len(rows) + 1),
        noun="placemark",
    )
    out.notes.append("no crs given: KML coordinates read as WGS84 lon/lat (the KML standard)")
    return out
