"""``gridcover inspect FILE --kind K``: read and validate one layer, print what it holds."""

from __future__ import annotations

import argparse
from typing import Any

import geopandas as gpd
import numpy as np

from gridcover.errors import InputError
from gridcover.gis import list_layers, read_layer
from gridcover.gis.schemas import KINDS, SCHEMAS

NAME = "inspect"
HELP = "Read and validate one layer; print counts, extent, columns and value counts."
DESCRIPTION = """\
Read one layer file as a layer kind, validate it, and print a summary: how many features,
the extent in EPSG:4326, which source column filled each canonical column, the value counts
of categorical fields (type, status, kind, class, level), the detected encoding and CRS, and
every normalisation applied. Problems are printed as sentences (exit code 2).

examples:
  gridcover inspect cameras.geojson --kind cameras
  gridcover inspect bubenec.gpkg --kind roads --layer streets
  gridcover inspect police_stations.csv --kind posts --crs EPSG:3435
  gridcover inspect districts.geojson --kind grids --coord-sys gcj02 --column adcode=code
"""
CATEGORICAL = ("type", "status", "kind", "class", "level")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="layer file: .geojson .gpkg .shp .zip .csv .parquet .pbf")
    parser.add_argument("--kind", required=True, choices=KINDS, help="layer kind")
    parser.add_argument("--layer", help="layer name inside a GeoPackage, OSM file or zip")
    parser.add_argument("--crs", help="source CRS when the file has none or a wrong one")
    parser.add_argument(
        "--coord-sys", choices=("wgs84", "gcj02", "bd09"), help="Chinese web-map offset to remove"
    )
    parser.add_argument("--encoding", help="text encoding (default: detected)")
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="SOURCE=CANONICAL",
        help="map a source column onto a canonical one (repeatable; CANONICAL empty = ignore)",
    )
    parser.add_argument(
        "--repair", action="store_true", help="repair invalid polygons with shapely.make_valid"
    )
    parser.add_argument("--list-layers", action="store_true", help="only list the layers")
    parser.set_defaults(func=run)


def _columns(pairs: list[str]) -> dict[str, str | None] | None:
    out: dict[str, str | None] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"--column '{pair}' must look like SOURCE=CANONICAL, e.g. ID=code.")
        src, dst = pair.split("=", 1)
        out[src] = dst or None
    return out or None


def run(args: argparse.Namespace) -> int:
    if args.list_layers:
        for name in list_layers(args.file):
            print(name)
        return 0
    gdf = read_layer(
        args.file,
        args.kind,
        layer=args.layer,
        crs=args.crs,
        coord_sys=args.coord_sys,
        encoding=args.encoding,
        columns=_columns(args.column),
        on_invalid="repair" if args.repair else None,
        duplicates="keep",
    )
    print(summary(gdf))
    return 0


def summary(gdf: gpd.GeoDataFrame) -> str:
    """A readable multi-line summary of a layer read by ``read_layer``."""
    rep: dict[str, Any] = gdf.attrs.get("gridcover", {})
    schema = SCHEMAS[rep["kind"]]
    lines = [str(rep["source"])]

    def row(key: str, value: object) -> None:
        lines.append(f"  {key:<12}{value}")

    row("kind", f"{schema.kind} ({schema.zh}), {rep['rows']} kept of {rep['rows_read']} read")
    fmt = rep["format"] + (f", layer '{rep['layer']}'" if rep.get("layer") else "")
    if rep.get("encoding"):
        fmt += f", encoding {rep['encoding']} ({rep['encoding_reason']})"
    row("format", fmt)
    crs = f"{rep['crs_in']} -> EPSG:4326"
    if rep["coord_sys"] != "wgs84":
        crs += f", {rep['coord_sys']} offset removed"
    if rep.get("coordinates_from"):
        crs += f"; coordinates from {rep['coordinates_from']}"
    row("crs", crs)
    if len(gdf):
        x0, y0, x1, y1 = gdf.total_bounds
        row("extent", f"lon {x0:.6f} .. {x1:.6f}, lat {y0:.6f} .. {y1:.6f}")
    types = gdf.geometry.geom_type.value_counts()
    row("geometry", ", ".join(f"{t} {n}" for t, n in types.items()) or "(none)")
    lines.append("  canonical columns:")
    for f in schema.fields:
        filled = int(gdf[f.name].notna().sum())
        src = rep["columns"].get(f.name, "(no source: empty)")
        lines.append(f"    {f.name:<12} {f.dtype:<5} {filled:>6} filled  <- {src}")
    extras = [c for c in gdf.columns if c not in schema.columns and c != gdf.geometry.name]
    if extras:
        lines.append("  other columns: " + ", ".join(f"{c} ({gdf[c].dtype})" for c in extras))
    for name in CATEGORICAL:
        if name in schema.columns:
            counts = gdf[name].value_counts(dropna=False).head(12)
            text = ", ".join(f"{_fmt(v)} {n}" for v, n in counts.items())
            lines.append(f"  {name} values: {text}")
    if rep.get("duplicates"):
        dup = "; ".join(
            f"'{v}' in features {', '.join(map(str, r))}" for v, r in rep["duplicates"].items()
        )
        lines.append(f"  duplicate {schema.id_field}: {dup}")
    for key in ("repaired", "dropped"):
        if rep.get(key):
            lines.append(f"  {key} features: {', '.join(map(str, rep[key][:30]))}")
    if rep.get("notes"):
        lines.append("  notes:")
        lines.extend(f"    - {n}" for n in rep["notes"])
    return "\n".join(lines)


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "(empty)"
    return str(v)
