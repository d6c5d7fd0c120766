"""``gridcover inspect FILE --kind K``: read and validate one layer, print what it holds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from gridcover.commands.layer_options import add_layer_options, options_from_args
from gridcover.gis import list_layers, read_layer
from gridcover.gis.aliases import shared_targets
from gridcover.gis.profile import LayerOptions, profile_toml
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
  gridcover inspect 台账.xlsx --kind cameras --write-profile cameras.toml
  gridcover inspect 台账.xlsx --kind cameras --profile cameras.toml --out cameras.geojson
"""
CATEGORICAL = ("type", "status", "kind", "class", "level")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="layer file: .geojson .gpkg .shp .zip .csv .parquet .pbf")
    parser.add_argument("--kind", required=True, choices=KINDS, help="layer kind")
    add_layer_options(parser, single=True)
    parser.add_argument(
        "--repair", action="store_true", help="repair invalid polygons with shapely.make_valid"
    )
    parser.add_argument("--list-layers", action="store_true", help="only list the layers")
    parser.add_argument(
        "--write-profile",
        type=Path,
        metavar="TOML",
        help="write an import profile of what was recognised (edit it, pass it with --profile)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="write the canonical layer (GeoJSON, EPSG:4326)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list_layers:
        for name in list_layers(args.file):
            print(name)
        return 0
    options = options_from_args(args, [args.kind], single=args.kind)[args.kind]
    gdf = read_layer(
        args.file,
        args.kind,
        **options.kwargs(),
        on_invalid="repair" if args.repair else None,
        duplicates="keep",
    )
    print(summary(gdf))
    if args.write_profile is not None:
        text = recognised_profile(gdf, options)
        args.write_profile.write_text(text, encoding="utf-8")
        print(
            f"gridcover: wrote the import profile to {args.write_profile}; edit it, then pass "
            "it with --profile."
        )
    if args.out is not None:
        gdf.to_file(args.out, driver="GeoJSON", engine="pyogrio")
        print(f"gridcover: wrote {len(gdf)} feature(s) to {args.out} (EPSG:4326).")
    return 0


def recognised_profile(gdf: gpd.GeoDataFrame, given: LayerOptions) -> str:
    """TOML of an import profile that reads the file as it was just read: the source column
    of every canonical column, the encoding, coordinate system and sheet/layer."""
    rep: dict[str, Any] = gdf.attrs.get("gridcover", {})
    kind = rep["kind"]
    shared = shared_targets(kind)
    columns: dict[str, str | None] = {}
    for dst, src in rep.get("sources", {}).items():  # a shared column: its shared target
        if src not in columns or dst in shared:
            columns[src] = dst
    columns.update(given.columns)
    found = LayerOptions(
        columns=columns,
        values=given.values,
        constants=given.constants,
        crs=given.crs,
        coord_sys=rep.get("coord_sys") if rep.get("coord_sys") != "wgs84" else given.coord_sys,
        encoding=rep.get("encoding") or given.encoding,
        layer=rep.get("layer") or given.layer,
    )
    note = (
        f"# made by: gridcover inspect {rep['source']} --kind {kind}\n"
        f"# canonical columns of {kind}: {', '.join(SCHEMAS[kind].columns)}"
    )
    return profile_toml(kind, found, note)


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
