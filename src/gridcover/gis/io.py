"""``read_layer``: any supported file -> a validated GeoDataFrame in EPSG:4326.

Pipeline: open (zip archives extracted safely into a temporary folder) -> raw read
(formats) -> column plan and conversion (columns, attributes) -> geometry checks ->
coordinate checks in the source CRS -> transform to EPSG:4326 -> GCJ-02/BD-09 offset
removal -> extent and value checks -> duplicates -> one ValidationReport with every problem,
or the layer. What was done is stored in ``gdf.attrs["gridcover"]``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridcover.errors import CRSError, InputError, SchemaError
from gridcover.gis import formats, tables
from gridcover.gis.archive import safe_extract
from gridcover.gis.attributes import apply_plan
from gridcover.gis.chinese_offsets import OFFSET_SYSTEMS, convert_geometries
from gridcover.gis.columns import ColumnPlan, get_schema, plan_columns
from gridcover.gis.crs import crs_label, normalize_crs, transformer
from gridcover.gis.geometry_mix import keep_fitting_parts
from gridcover.gis.kml import read_kml
from gridcover.gis.ledger import read_catalog_xml, read_xlsx
from gridcover.gis.offset_fit import china_offset_hint
from gridcover.gis.privacy import refuse_personal_columns
from gridcover.gis.profile import ImportProfile, LayerOptions, load_profile
from gridcover.gis.schemas import LayerSchema
from gridcover.gis.validate import (
    REPAIR_DEFAULT,
    OnInvalid,
    RowLabels,
    RowProblem,
    check_geometries,
    check_values,
    find_duplicates,
    raise_problems,
)
from gridcover.gis.validate_coords import (
    check_axis_swap,
    check_extent,
    check_finite_after,
    check_lonlat_range,
    check_null_island,
    check_offset_area,
)

WGS84 = pyproj.CRS.from_epsg(4326)
LEDGERS = (".xml", ".kml", ".kmz")
Duplicates = Literal["raise", "keep"]


def _candidates(folder: Path) -> list[Path]:
    """Layer files in an extracted archive (.txt notes, and CSVs beside a .shp, skipped)."""
    files = [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.suffix.lower() in formats.SUPPORTED
        and "__MACOSX" not in p.parts
        and not p.name.startswith(".")
    ]
    has_shp = any(p.suffix.lower() == ".shp" for p in files)
    skip = {".txt"} | ({".csv", ".tsv"} if has_shp else set())
    return [p for p in files if p.suffix.lower() not in skip]


@contextmanager
def _opened(path: Path, layer: str | None) -> Iterator[tuple[Path, str | None, str]]:
    """Yield (file to read, layer inside it, label for messages); zips are extracted."""
    if path.suffix.lower() != ".zip":
        yield path, layer, str(path)
        return
    with tempfile.TemporaryDirectory(prefix="gridcover-zip-") as tmp:
        safe_extract(path, Path(tmp))
        found = _candidates(Path(tmp))
        rel = [str(p.relative_to(tmp)) for p in found]
        if not found:
            raise InputError(
                f"{path}: the archive holds no layer file (.shp, .gpkg, .geojson, .csv)."
            )
        if len(found) == 1:
            yield found[0], layer, f"{path} ({rel[0]})"
            return
        match = [p for p, r in zip(found, rel, strict=True) if layer in (p.stem, p.name, r)]
        if layer is None or not match:
            raise InputError(
                f"{path}: the archive holds {len(found)} layer files: {', '.join(rel)}; choose one "
                f"with layer='{found[0].stem}' (CLI: --layer {found[0].stem})."
            )
        yield match[0], None, f"{path} ({match[0].relative_to(tmp)})"


def _read_raw(
    path: Path,
    label: str,
    kind: str,
    layer: str | None,
    crs: pyproj.CRS | None,
    encoding: str | None,
) -> formats.RawLayer:
    suffix = path.suffix.lower()
    if suffix not in formats.SUPPORTED:
        raise InputError(
            f"{label}: unsupported file type '{suffix}'; gridcover reads "
            f"{', '.join(sorted(formats.SUPPORTED))} and .zip archives of them."
        )
    fmt = formats.SUPPORTED[suffix]
    if fmt == "XLSX":
        return read_xlsx(path, label, crs, layer)
    if fmt == "GB/T 28181 XML":
        return read_catalog_xml(path, label, crs)
    if fmt in ("KML", "KMZ"):
        return read_kml(path, label, crs)
    if fmt == "CSV":
        return tables.read_csv(path, label, crs, encoding)
    if fmt == "GeoParquet":
        return tables.read_parquet(path, label, crs)
    if fmt == "OSM":
        return formats.read_osm(path, label, kind, layer)
    return formats.read_vector(path, label, fmt, layer, encoding)


def list_layers(source: str | Path) -> list[str]:
    """Names of the layers in a file (GeoPackage, OSM, zip of several files, ...)."""
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: file not found.")
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="gridcover-zip-") as tmp:
            safe_extract(path, Path(tmp))
            found = _candidates(Path(tmp))
            if len(found) == 1 and found[0].suffix.lower() in (".gpkg",):
                return [n for n, _ in formats.list_vector_layers(found[0])]
            return [p.stem for p in found]
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        try:
            return list(book.sheetnames)
        finally:
            book.close()
    if path.suffix.lower() in (".csv", ".txt", ".tsv", ".parquet", ".geoparquet", *LEDGERS):
        return [path.stem]
    return [n for n, _ in formats.list_vector_layers(path)]


def _resolve_crs(raw: formats.RawLayer, given: pyproj.CRS | None, notes: list[str]) -> pyproj.CRS:
    if given is not None:
        if raw.crs is not None and not raw.crs.equals(given, ignore_axis_order=True):
            notes.append(
                f"the file declares {crs_label(raw.crs)}; overridden by crs={crs_label(given)}"
            )
        return given
    if raw.crs is not None:
        return raw.crs
    why = (
        "there is no .prj file next to the .shp"
        if raw.fmt == "ESRI Shapefile"
        else "it declares no CRS"
    )
    raise CRSError(
        f"{raw.label}: the CRS is unknown ({why}); pass it with crs= (CLI: --crs), e.g. "
        "crs='EPSG:4326' for GPS lon/lat or crs='EPSG:4547' for CGCS2000 GK CM 114E."
    )


def _transform(geoms: np.ndarray, ok: np.ndarray, src: pyproj.CRS) -> np.ndarray:
    out = geoms.copy()
    t = transformer(src, WGS84)

    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1], errcheck=False)
        return np.column_stack([x, y])

    out[ok] = shapely.transform(geoms[ok], fn)
    return out


def _bounds(geoms: np.ndarray, ok: np.ndarray) -> np.ndarray:
    b = np.full((len(geoms), 4), np.nan)
    if ok.any():
        b[ok] = shapely.bounds(geoms[ok])
    return b


def _rows_of(problems: list[RowProblem], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for p in problems:
        mask[p.rows] = True
    return mask


def read_layer(
    source: str | Path,
    kind: str,
    *,
    layer: str | None = None,
    crs: Any = None,
    coord_sys: str | None = None,
    encoding: str | None = None,
    columns: Mapping[str, str | None] | None = None,
    constants: Mapping[str, Any] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    profile: str | Path | ImportProfile | Mapping[str, Any] | None = None,
    on_invalid: OnInvalid | None = None,
    duplicates: Duplicates = "raise",
) -> gpd.GeoDataFrame:
    """Read, map and validate a layer of ``kind``; return it in EPSG:4326 (lon/lat degrees).

    ``source``: GeoJSON, GeoPackage (``layer`` picks one), Shapefile (.shp or a .zip), CSV
    (lon/lat columns, or projected x/y with ``crs``), GeoParquet or OSM .pbf. ``crs``
    overrides/declares the source CRS; ``coord_sys`` ('gcj02' AMap/Tencent, 'bd09' Baidu)
    removes the Chinese web-map offset after projecting to lon/lat; ``encoding`` overrides
    text-encoding detection; ``columns`` maps source columns onto canonical ones
    (``{source: canonical}``, ``None`` = ignore); ``constants`` gives a canonical column one
    value for every row (``{canonical: value}``, e.g. ``{"level": 2}``, winning over the
    file's own column); ``values`` maps raw values before parsing (``{canonical: {raw:
    value}}``, e.g. ``{"type": {"枪机A": "bullet"}}``). ``profile`` (a TOML import profile,
    see ``gis.profile``) supplies any of these per kind; arguments given here win over it.
    ``on_invalid`` ('raise', 'repair' with shapely.make_valid, 'keep')
    defaults per kind (grids raise; buildings/sites/incidents repair). ``duplicates='keep'``
    keeps repeated ids (listed in the report) instead of raising DuplicateKeyError.

    Returns canonical columns first (schema order), then the file's other attributes
    unchanged; ``gdf.attrs["gridcover"]`` holds the read report. Raises ValidationReport
    listing every problem (nothing is returned or written then).
    """
    schema = get_schema(kind)
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: file not found.")
    mine = LayerOptions(
        dict(columns or {}), dict(values or {}), dict(constants or {}), crs, coord_sys, encoding
    )
    opts = mine.over(load_profile(profile).for_kind(kind)) if profile is not None else mine
    layer = layer or opts.layer
    crs, coord_sys, encoding = opts.crs, opts.coord_sys, opts.encoding
    columns, constants = opts.columns or None, opts.constants or None
    given = normalize_crs(crs) if crs is not None else None
    cs = (coord_sys or "wgs84").strip().lower()
    if cs not in OFFSET_SYSTEMS:
        raise CRSError(
            f"Unknown coord_sys '{coord_sys}'; use one of {', '.join(OFFSET_SYSTEMS)} "
            "(gcj02 for AMap/Tencent, bd09 for Baidu)."
        )
    policy: OnInvalid = on_invalid or REPAIR_DEFAULT.get(kind, "raise")
    if policy not in ("raise", "repair", "keep"):
        raise InputError(f"on_invalid must be 'raise', 'repair' or 'keep', not {on_invalid!r}.")
    if duplicates not in ("raise", "keep"):
        raise InputError(f"duplicates must be 'raise' or 'keep', not {duplicates!r}.")
    with _opened(path, layer) as (real, inner_layer, label):
        raw = _read_raw(real, label, kind, inner_layer, given, encoding)
        frame, tag_notes = formats.expand_other_tags(raw.frame, kind)
        refuse_personal_columns(list(frame.columns), kind, label)
        try:
            plan = plan_columns(list(frame.columns), kind, columns, label, constants, opts.values)
        except SchemaError:
            if len(frame):
                raise
            raise InputError(
                f"{label}: the layer holds no features, so there is nothing to read as "
                f"{kind}; check that the right file or layer (layer=) was exported."
            ) from None
        notes = [*raw.notes, *tag_notes]
        for name, src in plan.sources.items():
            col = src.column
            if col in raw.float_columns and schema.get(name).dtype == "str" and raw.exact:
                exact = raw.exact(col)
                if exact is not None and len(exact) == len(frame):
                    frame[col] = pd.Series(exact, index=frame.index, dtype=object)
                    notes.append(
                        f"'{col}' is numeric in the file; its exact digits were read as text"
                    )
    gdf = _finish(raw, frame, plan, schema, given, cs, policy, duplicates, notes)
    gdf.attrs["gridcover"]["coord_sys_declared"] = coord_sys is not None
    gdf.attrs["gridcover"]["options"] = opts.kwargs()
    return gdf


def _finish(
    raw: formats.RawLayer,
    frame: pd.DataFrame,
    plan: ColumnPlan,
    schema: LayerSchema,
    given: pyproj.CRS | None,
    cs: str,
    policy: OnInvalid,
    duplicates: Duplicates,
    notes: list[str],
) -> gpd.GeoDataFrame:
    n = len(frame)
    elements = formats.osm_elements(raw.geoms)
    mapped = apply_plan(frame, plan, raw.numbers, elements)
    notes.extend(mapped.notes)
    canonical = mapped.canonical
    ids = canonical[schema.id_field].to_numpy(dtype=object) if schema.id_field else None
    labels = RowLabels(raw.noun, raw.numbers, schema.id_field, ids)
    problems: list[RowProblem] = [*raw.problems, *mapped.problems]
    present = ~shapely.is_missing(raw.geoms)
    present[present] = ~shapely.is_empty(raw.geoms[present])
    raw_geoms, mix_drop, mix_notes = keep_fitting_parts(raw.geoms, schema.kind, present)
    notes.extend(mix_notes)
    raw_geoms[mix_drop] = None
    explained = mix_drop | (raw.explained if raw.explained is not None else False)
    gc = check_geometries(raw_geoms, schema, policy, raw.unbuilt, raw.fixed, explained, labels)
    gc.dropped.extend(np.flatnonzero(mix_drop).tolist())
    problems.extend(gc.problems)
    notes.extend(gc.notes)
    src_crs = _resolve_crs(raw, given, notes)
    geoms, ok = gc.geoms, gc.ok.copy()
    if src_crs.is_geographic:
        coord = check_null_island(geoms, ok)
        problems.extend(coord)
        ok &= ~_rows_of(coord, n)
        coord = check_lonlat_range(_bounds(geoms, ok), src_crs, ok)
        problems.extend(coord)
        ok &= ~_rows_of(coord, n)
    if not src_crs.equals(WGS84, ignore_axis_order=True):
        geoms = _transform(geoms, ok, src_crs)
        step = f"transforming from {crs_label(src_crs)} to EPSG:4326"
        bad = check_finite_after(geoms, ok, step)
        ok &= ~_rows_of(bad, n)
        bad += check_extent(_bounds(geoms, ok), src_crs, ok)
        ok &= ~_rows_of(bad, n)
        swap = check_axis_swap(gc.geoms, np.flatnonzero(_rows_of(bad, n)), src_crs)
        problems.extend(swap or bad)  # one 'swap?' sentence when exchanging x/y fixes all
    if cs != "wgs84":
        off = check_offset_area(_bounds(geoms, ok), ok, cs)
        problems.extend(off)
        ok &= ~_rows_of(off, n)
        geoms[ok] = convert_geometries(geoms[ok], cs, "wgs84")
        bad = check_finite_after(geoms, ok, f"removing the {cs} offset")
        problems.extend(bad)
        notes.append(f"{int(ok.sum())} feature(s) converted from {cs} to WGS84")
    if cs == "wgs84" and any(note.startswith("no crs given") for note in raw.notes):
        notes.extend(china_offset_hint(geoms, ok))
    guessed = {k: v.column for k, v in plan.sources.items() if v.origin == "column" and v.column}
    vprob, vnotes = check_values(canonical, schema, guessed)
    problems.extend(vprob)
    notes.extend(vnotes)
    dups = find_duplicates(canonical[schema.id_field]) if schema.id_field else []
    if dups and duplicates == "keep":
        notes.append(
            f"{len(dups)} {schema.id_field} value(s) repeat; rows kept (duplicates='keep')"
        )
    raise_problems(
        raw.label,
        problems,
        labels,
        dups if duplicates == "raise" else None,
        schema.id_field or "id",
    )
    keep = np.ones(n, dtype=bool)
    keep[gc.dropped] = False
    guards = np.flatnonzero(formats.osm_guards(frame, schema.kind))
    if len(guards):
        keep[guards] = False
        notes.append(
            f"{labels.describe(guards)} left out: OSM surveillance:type=guard is a guard, "
            "not a camera"
        )
    dropped = sorted({*gc.dropped, *guards.tolist()})
    data = pd.concat([canonical, mapped.extras], axis=1)[keep].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms[keep], index=data.index), crs=WGS84)
    gdf.attrs["gridcover"] = {
        "source": raw.label,
        "format": raw.fmt,
        "layer": raw.layer,
        "kind": schema.kind,
        "rows_read": n,
        "rows": int(keep.sum()),
        "encoding": raw.encoding.encoding if raw.encoding else None,
        "encoding_reason": raw.encoding.reason if raw.encoding else None,
        "crs_in": crs_label(src_crs),
        "coord_sys": cs,
        "coordinates_from": raw.coords_from,
        "columns": dict(mapped.mapping),
        "sources": {k: v.column for k, v in plan.sources.items() if v.column is not None},
        "id_from": mapped.mapping.get(schema.id_field or "", None),
        "on_invalid": policy,
        "repaired": [int(raw.numbers[i]) for i in gc.repaired],
        "dropped": [int(raw.numbers[i]) for i in dropped],
        "duplicates": {v: [int(raw.numbers[i]) for i in rows] for v, rows in dups},
        "notes": list(dict.fromkeys(notes)),
    }
    return gdf
