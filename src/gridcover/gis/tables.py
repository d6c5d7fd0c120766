"""Tables of points: CSV (and Parquet without geometry) with lon/lat, projected x/y or WKT;
GeoParquet files (``read_parquet``).

Every CSV column is read as text, so codes never pass through floating point. Coordinate
columns are found by name (``LON_NAMES``, ``LAT_NAMES``, ``X_NAMES``, ``Y_NAMES``,
``WKT_NAMES``, matched after normalisation); lon/lat are preferred unless ``crs`` is
projected. Lon/lat without a CRS are WGS84 (EPSG:4326), noted in the report.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.errors import CRSError, InputError
from gridcover.gis.columns import norm
from gridcover.gis.encoding import EncodingGuess, detect_text_encoding, normalize_encoding
from gridcover.gis.formats import RawLayer
from gridcover.gis.validate import RowProblem

LON_NAMES = ("longitude", "lon", "lng", "long", "经度", "wgs84lon", "gpslon")
LAT_NAMES = ("latitude", "lat", "纬度", "wgs84lat", "gpslat")
X_NAMES = ("x", "xcoordinate", "pointx", "easting", "x坐标", "东坐标", "横坐标")
Y_NAMES = ("y", "ycoordinate", "pointy", "northing", "y坐标", "北坐标", "纵坐标")
WKT_NAMES = ("wkt", "geometry", "geom", "thegeom", "shape")
PAIR_NAMES = ("location", "position", "coordinates", "latlon", "latlng", "坐标", "经纬度", "位置")
_PAIR = re.compile(r"^\s*\(?\s*([-+]?\d+(?:\.\d+)?)\s*[,，\s]\s*([-+]?\d+(?:\.\d+)?)\s*\)?\s*$")


def _sniff_sep(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(path: Path, label: str, crs: pyproj.CRS | None, encoding: str | None) -> RawLayer:
    """Read a CSV of points (lon/lat, or projected x/y with ``crs``) or WKT geometries."""
    guess = (
        EncodingGuess(normalize_encoding(encoding), "given by encoding=")
        if encoding
        else detect_text_encoding(path)
    )
    with open(path, encoding=guess.encoding, errors="replace") as fh:
        sep = _sniff_sep(fh.read(65536))
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding=guess.encoding,
            sep=sep,
        )
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{label}: the CSV cannot be parsed ({exc}).") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    out = RawLayer(
        label,
        "CSV",
        frame,
        np.empty(0, dtype=object),
        crs,
        np.arange(1, len(frame) + 1),
        noun="row",
        encoding=guess,
    )
    points_from_table(out, crs)
    return out


def _pick(by_norm: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((by_norm[n] for n in names if n in by_norm), None)


def _numbers(raw: RawLayer, col: str) -> np.ndarray:
    s = raw.frame[col]
    text = s.astype(object).where(s.notna(), None)
    num = pd.to_numeric(
        text.str.replace(",", ".", regex=False) if sep_comma(text) else text, errors="coerce"
    ).to_numpy(dtype=float)
    bad = np.flatnonzero(text.notna().to_numpy() & np.isnan(num))
    if len(bad):
        raw.problems.append(
            RowProblem(
                bad, f"'{col}' value '{text.iloc[bad[0]]}' is not a number", f"correct {col}"
            )
        )
    return num


def sep_comma(text: pd.Series) -> bool:
    """True when numbers use a decimal comma ('22,54') and never a point."""
    t = text.dropna().astype(str)
    return bool(len(t)) and t.str.contains(",").all() and not t.str.contains(r"\.").any()


def points_from_table(raw: RawLayer, crs: pyproj.CRS | None) -> None:
    """Build geometries of a table from its WKT or coordinate columns (in place).

    Lon/lat columns are used unless ``crs`` is projected; projected x/y need ``crs``.
    Lon/lat without ``crs`` default to WGS84 (EPSG:4326) with a note.
    """
    by_norm: dict[str, str] = {}
    for c in raw.frame.columns:
        by_norm.setdefault(norm(c), c)
    wkt = _pick(by_norm, WKT_NAMES)
    lon, lat = _pick(by_norm, LON_NAMES), _pick(by_norm, LAT_NAMES)
    x, y = _pick(by_norm, X_NAMES), _pick(by_norm, Y_NAMES)
    projected = crs is not None and not crs.is_geographic
    pair = _pick(by_norm, PAIR_NAMES)
    if pair is not None and wkt is None and not (lon and lat) and not (x and y):
        _points_from_pairs(raw, pair, crs)
        return
    if wkt is not None and not (lon and lat):
        text = raw.frame[wkt].astype(object).where(raw.frame[wkt].notna(), None).to_numpy()
        raw.geoms = np.asarray(shapely.from_wkt(text, on_invalid="ignore"), dtype=object)
        bad = np.flatnonzero(
            shapely.is_missing(raw.geoms) & np.array([t is not None for t in text])
        )
        if len(bad):
            raw.problems.append(
                RowProblem(bad, f"'{wkt}' is not valid WKT", "correct the geometry text")
            )
            raw.explained = np.isin(np.arange(len(text)), bad)
        raw.coords_from = wkt
        if crs is None:
            raise CRSError(
                f"{raw.label}: the WKT column '{wkt}' has no CRS; pass crs= (e.g. 'EPSG:4326')."
            )
        return
    if lon and lat and not (projected and x and y):
        cx, cy = lon, lat
    elif x and y:
        cx, cy = x, y
    else:
        raise InputError(
            f"{raw.label}: no coordinate columns found; expected longitude/latitude columns "
            f"(e.g. {', '.join(LON_NAMES[:4])} / {', '.join(LAT_NAMES[:3])}, 经度/纬度) or "
            f"projected x/y columns with crs=. The columns are: {', '.join(raw.frame.columns)}. "
            "Rename the coordinate columns to lon/lat (or x/y and pass crs=)."
        )
    xs, ys = _numbers(raw, cx), _numbers(raw, cy)
    if crs is None:
        fin = np.isfinite(xs) & np.isfinite(ys)
        out_of_range = bool((np.abs(xs[fin]) > 180).any() or (np.abs(ys[fin]) > 90).any())
        if (cx, cy) == (x, y) and out_of_range:
            raise CRSError(
                f"{raw.label}: coordinates come from columns '{cx}'/'{cy}', which look projected "
                f"(e.g. {xs[fin][0]:.1f}, {ys[fin][0]:.1f}), and no CRS was given; pass crs= "
                "(CLI: --crs), e.g. crs='EPSG:3435' for Chicago State Plane feet."
            )
        raw.crs = pyproj.CRS.from_epsg(4326)
        raw.notes.append(f"no crs given: '{cx}'/'{cy}' read as WGS84 lon/lat (EPSG:4326)")
    blank = np.isnan(xs) | np.isnan(ys)
    text_bad = np.zeros(len(xs), bool)
    for p in raw.problems:
        text_bad[p.rows] = True
    geoms = np.full(len(xs), None, dtype=object)
    geoms[~blank] = shapely.points(xs[~blank], ys[~blank])
    raw.geoms = geoms
    raw.explained = text_bad
    raw.coords_from = f"{cx}, {cy}"


def read_parquet(path: Path, label: str, crs: pyproj.CRS | None) -> RawLayer:
    """GeoParquet as a layer; Parquet without geo metadata as a table of points."""
    try:
        with np.errstate(invalid="ignore"):
            gdf = gpd.read_parquet(path)
    except Exception as exc:  # no geometry metadata: read as a plain table of points
        if "geo" not in str(exc).lower():
            raise InputError(f"{label}: the Parquet file cannot be read ({exc}).") from exc
        frame = pd.read_parquet(path)
        raw = RawLayer(
            label,
            "Parquet",
            frame,
            np.empty(0, dtype=object),
            crs,
            np.arange(len(frame)),
            noun="row",
        )
        points_from_table(raw, crs)
        return raw
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    geoms = np.asarray(gdf.geometry.array, dtype=object)
    file_crs = pyproj.CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    return RawLayer(
        label, "GeoParquet", frame.reset_index(drop=True), geoms, file_crs, np.arange(len(frame))
    )


def _points_from_pairs(raw: RawLayer, col: str, crs: pyproj.CRS | None) -> None:
    """Points from one text column of "(lat, lon)" pairs (open-data portals) or WKT
    "POINT (lon lat)". A pair is (lat, lon) unless its first value cannot be a latitude
    (|first| > 90 in some row): then the whole column is read as (lon, lat), noted."""
    text = raw.frame[col].astype(object).where(raw.frame[col].notna(), None).to_numpy()
    is_wkt = np.array([isinstance(t, str) and t.strip().upper().startswith("POINT") for t in text])
    geoms = np.full(len(text), None, dtype=object)
    if is_wkt.any():
        geoms[is_wkt] = shapely.from_wkt(text[is_wkt], on_invalid="ignore")
    a = np.full(len(text), np.nan)
    b = np.full(len(text), np.nan)
    for i, t in enumerate(text):
        m = _PAIR.match(t) if isinstance(t, str) and not is_wkt[i] else None
        if m:
            a[i], b[i] = float(m.group(1)), float(m.group(2))
    lat_first = not (np.abs(a[np.isfinite(a)]) > 90).any()
    xs, ys = (b, a) if lat_first else (a, b)
    has = np.isfinite(xs) & np.isfinite(ys)
    geoms[has] = shapely.points(xs[has], ys[has])
    bad = np.flatnonzero(shapely.is_missing(geoms) & np.array([t is not None for t in text]))
    if len(bad):
        raw.problems.append(
            RowProblem(
                bad,
                f"'{col}' value '{text[bad[0]]}' is not a '(lat, lon)' pair or POINT (lon lat)",
                f"correct {col}, or give longitude/latitude columns",
            )
        )
    raw.explained = np.isin(np.arange(len(text)), bad)
    raw.geoms = geoms
    order = "(lat, lon)" if lat_first else "(lon, lat): a first value beyond ±90 is no latitude"
    raw.coords_from = f"{col} {order if has.any() else 'POINT (lon lat)'}"
    if crs is None:
        raw.crs = pyproj.CRS.from_epsg(4326)
        raw.notes.append(f"no crs given: '{col}' read as WGS84 {order} pairs (EPSG:4326)")
