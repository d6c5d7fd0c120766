"""Raw readers: attributes + geometries + declared CRS, before column mapping.

GeoJSON, GeoPackage, Shapefile and OSM ``.pbf`` go through GDAL (pyogrio, raw WKB so that
rings GEOS refuses can be reported instead of crashing). CSV tables: :mod:`.tables`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from pyogrio import raw as ogr_raw

from gridcover.errors import InputError
from gridcover.gis import dbf
from gridcover.gis.columns import ALIASES, FLAGS, norm
from gridcover.gis.encoding import EncodingGuess, detect_dbf_encoding, normalize_encoding
from gridcover.gis.validate import RowProblem, parse_wkb

STR_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object
VECTOR_SUFFIXES = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".shp": "ESRI Shapefile",
}
TABLE_SUFFIXES = {".csv": "CSV", ".txt": "CSV", ".tsv": "CSV"}
PARQUET_SUFFIXES = {".parquet": "GeoParquet", ".geoparquet": "GeoParquet"}
OSM_SUFFIXES = {".pbf": "OSM", ".osm": "OSM"}
LEDGER_SUFFIXES = {".xlsx": "XLSX", ".xml": "GB/T 28181 XML", ".kml": "KML", ".kmz": "KMZ"}
SUPPORTED = {
    **VECTOR_SUFFIXES,
    **TABLE_SUFFIXES,
    **PARQUET_SUFFIXES,
    **OSM_SUFFIXES,
    **LEDGER_SUFFIXES,
}

# OSM (GDAL OSM driver): which layer holds a kind, and which features belong to it.
OSM_LAYERS: dict[str, tuple[str, str]] = {
    "cameras": ("points", "man_made = 'surveillance'"),
    "posts": ("points", 'other_tags LIKE \'%"amenity"=>"police"%\''),
    "roads": ("lines", "highway IS NOT NULL"),
    "buildings": ("multipolygons", "building IS NOT NULL"),
}

_HSTORE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


@dataclass
class RawLayer:
    """What a file holds before column mapping: attributes, geometries, declared CRS."""

    label: str
    fmt: str
    frame: pd.DataFrame
    geoms: np.ndarray
    crs: pyproj.CRS | None
    numbers: np.ndarray  # how rows are named in messages (FID, or 1-based CSV data row)
    noun: str = "feature"
    layer: str | None = None
    encoding: EncodingGuess | None = None
    unbuilt: np.ndarray | None = None
    fixed: np.ndarray | None = None
    explained: np.ndarray | None = None  # rows whose missing geometry is already a problem
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    coords_from: str | None = None
    exact: Callable[[str], list[Any] | None] | None = None
    float_columns: frozenset[str] = frozenset()

    @property
    def fids(self) -> np.ndarray:
        return self.numbers


def list_vector_layers(path: Path) -> list[tuple[str, str]]:
    """(name, geometry type) of each layer GDAL sees in ``path``."""
    try:
        return [(str(n), str(t)) for n, t in pyogrio.list_layers(path)]
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{path}: GDAL cannot open the file ({exc}).") from exc


def _choose_layer(path: Path, label: str, layer: str | None) -> str | None:
    layers = list_vector_layers(path)
    names = [n for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise InputError(
                f"{label}: there is no layer '{layer}'; the layers are: {', '.join(names)}."
            )
        return layer
    if len(layers) > 1:
        desc = ", ".join(f"{n} ({t})" for n, t in layers)
        raise InputError(
            f"{label}: the file has {len(layers)} layers: {desc}; choose one with "
            f"layer='{names[0]}' (CLI: --layer {names[0]})."
        )
    return names[0] if names else None


def _frame(meta: dict, fields: list, n: int) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    for name, arr in zip(meta["fields"], fields, strict=True):
        s = pd.Series(arr)
        if s.dtype == object and all(isinstance(v, str) or v is None for v in arr):
            s = s.astype(STR_DTYPE)
        cols[str(name)] = s
    return pd.DataFrame(cols, index=pd.RangeIndex(n))


def _require_sidecars(shp: Path, label: str) -> None:
    """A Shapefile needs its .shx (index) and .dbf (attributes) beside the .shp."""
    have = {p.suffix.lower() for p in shp.parent.iterdir() if p.stem == shp.stem}
    missing = [s for s in (".shx", ".dbf") if s not in have]
    if missing:
        raise InputError(
            f"{label}: the Shapefile's {' and '.join(shp.stem + s for s in missing)} "
            "is missing beside it; copy every file of the Shapefile (.shp .shx .dbf .prj .cpg) "
            "into one folder, or zip them together and read the .zip."
        )


def read_vector(
    path: Path,
    label: str,
    fmt: str,
    layer: str | None,
    encoding: str | None,
    where: str | None = None,
) -> RawLayer:
    """Read a GDAL vector layer (GeoJSON, GPKG, Shapefile, OSM) into a RawLayer."""
    guess: EncodingGuess | None = None
    if encoding:
        guess = EncodingGuess(normalize_encoding(encoding), "given by encoding=")
    elif fmt == "ESRI Shapefile":
        guess = detect_dbf_encoding(path)
    elif fmt == "GeoJSON":
        guess = EncodingGuess("utf-8", "GeoJSON is UTF-8 (RFC 7946)")
    if fmt == "GPKG" or (fmt == "OSM" and layer is not None):
        layer = _choose_layer(path, label, layer)
    if fmt == "ESRI Shapefile":
        _require_sidecars(path, label)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            meta, fids, wkb, fields = ogr_raw.read(
                path,
                layer=layer,
                encoding=guess.encoding if guess and fmt != "GeoJSON" else None,
                where=where,
                return_fids=True,
                datetime_as_string=True,
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise InputError(f"{label}: GDAL cannot read the file ({exc}).") from exc
        caught = [str(w.message) for w in record]
    frame = _frame(meta, fields, len(fids))
    wkb = np.asarray(wkb if wkb is not None else [None] * len(frame), dtype=object)
    geoms, unbuilt, fixed = parse_wkb(wkb)
    crs = pyproj.CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    out = RawLayer(
        label,
        fmt,
        frame,
        geoms,
        crs,
        np.asarray(fids, dtype=np.int64),
        layer=layer,
        encoding=guess,
        unbuilt=unbuilt,
        fixed=fixed,
    )
    out.notes.extend(f"GDAL: {m}" for m in dict.fromkeys(caught) if "closed ring" not in m)
    out.float_columns = frozenset(
        n for n, t in zip(meta["fields"], meta["ogr_types"], strict=True) if t == "OFTReal"
    )
    if fmt == "GeoJSON":
        out.exact = lambda name: _json_exact(path, name)
    elif fmt == "ESRI Shapefile" and guess is not None:
        enc = guess.encoding
        out.exact = lambda name: _dbf_exact(path, name, enc, out.fids)
    return out


def _json_exact(path: Path, name: str) -> list[Any] | None:
    """Exact text of a numeric GeoJSON property (Python's json keeps every digit)."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh, parse_int=str, parse_float=str)
    feats = doc.get("features", []) if isinstance(doc, dict) else []
    return [(f.get("properties") or {}).get(name) for f in feats]


def _dbf_exact(path: Path, name: str, enc: str, fids: np.ndarray) -> list[Any] | None:
    dbf_path = path.with_suffix(".dbf")
    if not dbf_path.exists():
        return None
    try:
        texts = dbf.field_texts(dbf_path, name, enc)
    except KeyError:
        return None
    return [texts[i] if 0 <= i < len(texts) else None for i in fids]


def read_osm(path: Path, label: str, kind: str, layer: str | None) -> RawLayer:
    """Read the layer of ``kind`` from an OSM .pbf/.osm file with GDAL's OSM driver."""
    if layer is None and kind not in OSM_LAYERS:
        raise InputError(
            f"{label}: OSM files are read for kinds {', '.join(OSM_LAYERS)} only; for {kind}, "
            "extract the features first (e.g. ogr2ogr or osmium) or pass layer=."
        )
    osm_layer, where = OSM_LAYERS.get(kind, (layer, None))
    out = read_vector(path, label, "OSM", layer or osm_layer, None, None if layer else where)
    if where and not layer:
        if len(out.frame) == 0:
            raise InputError(
                f"{label}: the OSM file has no features for kind '{kind}' (layer "
                f"'{osm_layer}' where {where}); check the extract or the kind."
            )
        out.notes.append(f"OSM layer '{osm_layer}' filtered with {where}")
    null = shapely.is_missing(out.geoms) | (out.unbuilt if out.unbuilt is not None else False)
    if null.any():
        keep = ~null
        out.frame = out.frame[keep].reset_index(drop=True)
        out.geoms, out.numbers = out.geoms[keep], out.numbers[keep]
        out.unbuilt = out.fixed = None
        out.notes.append(
            f"{int(null.sum())} OSM feature(s) without a buildable geometry dropped "
            "(incomplete ways/relations cut at the extract's edge)"
        )
    return out


def expand_other_tags(frame: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """Parse GDAL's OSM ``other_tags`` (hstore text) into columns.

    For cameras every tag becomes a column (other_tags is dropped); for other kinds only
    tags the column tables use. Existing columns are never overwritten.
    """
    if "other_tags" not in frame.columns:
        return frame, []
    parsed = [
        {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _HSTORE.findall(t)}
        if isinstance(t, str)
        else {}
        for t in frame["other_tags"].to_numpy(dtype=object)
    ]
    keys = list(dict.fromkeys(k for d in parsed for k in d))
    if kind != "cameras":
        wanted = {norm(n) for r in ALIASES[kind] for n in r.names} | {
            norm(f.column) for f in FLAGS if f.kind == kind
        }
        keys = [k for k in keys if norm(k) in wanted]
    keys = [k for k in keys if k not in frame.columns]
    new = pd.DataFrame(
        {k: pd.Series([d.get(k) for d in parsed], dtype=object).astype(STR_DTYPE) for k in keys},
        index=frame.index,
    )
    out = pd.concat([frame, new], axis=1)
    if kind == "cameras":
        out = out.drop(columns="other_tags")
    return out, ([f"other_tags parsed into columns: {', '.join(keys)}"] if keys else [])


def osm_elements(geoms: np.ndarray) -> np.ndarray:
    """OSM element type per row: points are nodes, others ways; rows without a geometry
    take the layer's most common type."""
    types = np.asarray(shapely.get_type_id(geoms))
    elements = np.where(types == 0, "node", "way")
    present = types >= 0
    if present.any() and not present.all():
        common = "node" if (types[present] == 0).mean() >= 0.5 else "way"
        elements[~present] = common
    return elements


def osm_guards(frame: pd.DataFrame, kind: str) -> np.ndarray:
    """Rows of a camera layer tagged OSM ``surveillance:type=guard`` (a person, no camera)."""
    col = next((c for c in frame.columns if norm(c) == "surveillancetype"), None)
    if kind != "cameras" or col is None:
        return np.zeros(len(frame), dtype=bool)
    value = frame[col].astype("string").str.strip().str.lower()
    return value.eq("guard").fillna(False).to_numpy(dtype=bool)
