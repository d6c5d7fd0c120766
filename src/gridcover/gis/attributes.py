"""Convert source attributes into the canonical, typed columns that a ``ColumnPlan`` names.

Codes and ids become strings without ever passing through floating point (integers print
exactly; a float column is accepted only when every value is a whole number below 2**53).
Values that cannot be parsed become row problems, collected, never raised one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gridcover.gis import gbt28181 as G
from gridcover.gis import values as V
from gridcover.gis.columns import DEFAULTS, ColumnPlan, Source, get_schema, norm
from gridcover.gis.schemas import Field
from gridcover.gis.validate import RowProblem

STR_DTYPE: Any = "str" if int(pd.__version__.split(".")[0]) >= 3 else object
_EXACT = 2**53

PARSERS: dict[str, Callable[[Any], Any]] = {
    "float": V.parse_float,
    "int": V.parse_int,
    "length": V.parse_length_m,
    "degrees": V.parse_degrees,
    "approach": V.parse_approach,
    "levels": V.parse_levels_height,
    "camera_type": V.synonym_parser(V.CAMERA_TYPE_SYNONYMS, "camera type"),
    "camera_status": V.synonym_parser(V.CAMERA_STATUS_SYNONYMS, "camera status"),
    "post_kind": V.synonym_parser(V.POST_KIND_SYNONYMS, "post kind"),
    "site_kind": V.synonym_parser(V.SITE_KIND_SYNONYMS, "site kind"),
    "ptz_code": G.parse_ptz_code,
    "direction_code": G.parse_direction_code,
    "room": G.parse_room,
    "use": G.parse_use,
    "light": G.parse_light,
    "owner": G.parse_owner,
    "resolution_px": G.parse_resolution_px,
    "millimetres": G.parse_millimetres,
    "storeys": G.parse_storeys,
}


@dataclass(frozen=True)
class Mapped:
    """Canonical columns (schema order), untouched extra columns, and what happened."""

    canonical: pd.DataFrame
    extras: pd.DataFrame
    mapping: dict[str, str]
    notes: tuple[str, ...]
    problems: tuple[RowProblem, ...]


def _fast_code_strings(series: pd.Series) -> list[str | None] | None:
    """Vectorised path for integer and text columns (the common cases); None otherwise."""
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_integer_dtype(series):
        text = series.astype("string")
    elif pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        text = series.astype("string").str.strip()
    else:
        return None
    keep = text.notna() & (text != "")
    return text.astype(object).where(keep.fillna(False).astype(bool), None).tolist()


def code_strings(series: pd.Series) -> tuple[list[str | None], list[RowProblem], str | None]:
    """Exact strings of a code/id column; problems for floats that are not exact integers."""
    fast = _fast_code_strings(series)
    if fast is not None:
        return fast, [], None
    raw = series.to_numpy(dtype=object)
    out: list[str | None] = [None] * len(raw)
    bad_frac: list[int] = []
    too_big: list[int] = []
    floats = False
    for i, v in enumerate(raw):
        if V.is_blank(v):
            continue
        if isinstance(v, bool | np.bool_):
            out[i] = str(v)
        elif isinstance(v, int | np.integer):
            out[i] = str(int(v))
        elif isinstance(v, float | np.floating):
            floats = True
            if not np.isfinite(v) or v != np.floor(v):
                bad_frac.append(i)
            elif abs(float(v)) >= _EXACT:
                too_big.append(i)
            else:
                out[i] = str(int(v))
        else:
            out[i] = str(v).strip() or None
    problems = []
    name = series.name
    if bad_frac:
        problems.append(
            RowProblem(
                np.asarray(bad_frac),
                f"'{name}' holds a fractional number where a code is expected",
                "store codes as text",
            )
        )
    if too_big:
        problems.append(
            RowProblem(
                np.asarray(too_big),
                f"'{name}' holds a number too large to be exact as floating point (>= 2**53), "
                "so its digits are already lost",
                "store codes as text in the file (e.g. quote them in GeoJSON/CSV)",
            )
        )
    note = f"'{name}' was stored as numbers; read back as whole-number strings" if floats else None
    return out, problems, note


def _typed(values: list[Any], f: Field, index: pd.Index) -> pd.Series:
    if f.dtype == "str":
        return pd.Series(values, index=index, dtype=object).astype(STR_DTYPE)
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if f.dtype == "int":
        return pd.Series(arr, index=index).astype("Int64")
    return pd.Series(arr, index=index, dtype=float)


def _osm_ids(frame: pd.DataFrame, elements: np.ndarray | None) -> list[str | None]:
    """OSM ids as 'osm-<element>-<id>'. GDAL multipolygons: osm_way_id set = a way, else
    osm_id is a relation; otherwise the element follows the geometry (point = node)."""
    cols = {norm(c): c for c in frame.columns}
    blank: list[str | None] = [None] * len(frame)
    osm_id = code_strings(frame[cols["osmid"]])[0] if "osmid" in cols else blank
    way_id = code_strings(frame[cols["osmwayid"]])[0] if "osmwayid" in cols else blank
    multipolygons = "osmwayid" in cols
    out: list[str | None] = []
    for i in range(len(frame)):
        elem = str(elements[i]) if elements is not None else "node"
        if way_id[i] is not None:
            out.append(f"osm-way-{way_id[i]}")
        elif osm_id[i] is not None:
            out.append(f"osm-{'relation' if multipolygons else elem}-{osm_id[i]}")
        else:
            out.append(None)
    return out


def _convert(
    frame: pd.DataFrame,
    src: Source,
    f: Field,
    fids: np.ndarray,
    elements: np.ndarray | None,
    values: Mapping[str, Mapping[str, Any]],
) -> tuple[list[Any], list[RowProblem], str | None]:
    n = len(frame)
    if src.origin in ("constant", "default"):
        return [src.constant] * n, [], None
    if src.origin == "fid":
        return [str(int(x)) for x in fids], [], None
    if src.origin == "osm":
        return _osm_ids(frame, elements), [], None
    if src.column is None:
        raise ValueError(f"column plan for {f.name} names no source column")
    series = frame[src.column]
    table = values.get(f.name)
    if table:  # a value map of the profile/CLI: raw text -> canonical value, before parsing
        series = series.map(lambda v: table.get(str(v).strip(), v) if not V.is_blank(v) else v)
    parse = src.parse
    if parse in ("auto", "code", "code2"):
        if f.dtype == "str":
            vals, probs, note = code_strings(series)
            if parse == "code2":
                vals = [v.zfill(2) if v is not None and v.isdigit() else v for v in vals]
            return vals, probs, note
        parse = f.dtype
    conv, failures = V.convert_series(series, PARSERS[parse])
    probs = [
        RowProblem(
            rows,
            f"'{src.column}' {reason}",
            f"correct the value, map it with a value map (values={{'{f.name}': {{RAW: VALUE}}}}; "
            f"CLI: --value KIND:{f.name}:RAW=VALUE; profile: [KIND.values.{f.name}]), or map "
            f"another column to {f.name}",
        )
        for reason, rows in failures.items()
    ]
    return conv, probs, None


def apply_plan(
    frame: pd.DataFrame,
    plan: ColumnPlan,
    fids: np.ndarray,
    elements: np.ndarray | None = None,
) -> Mapped:
    """Build the canonical columns of ``plan.kind`` from ``frame``.

    ``fids`` are the file's feature ids (used when the plan says so); ``elements`` the OSM
    element type per row (node/way) when the rows come from OSM.
    """
    schema = get_schema(plan.kind)
    notes = list(plan.notes)
    problems: list[RowProblem] = []
    mapping: dict[str, str] = {}
    out: dict[str, list[Any]] = {}
    defaults = DEFAULTS.get(plan.kind, {})
    for f in schema.fields:
        src = plan.sources.get(f.name)
        if src is None:
            out[f.name] = [None] * len(frame)
            continue
        vals, probs, note = _convert(frame, src, f, fids, elements, plan.values)
        problems.extend(probs)
        if note:
            notes.append(note)
        mapping[f.name] = src.describe()
        for fb in plan.fallbacks.get(f.name, ()):
            more, probs, _ = _convert(frame, fb, f, fids, elements, plan.values)
            problems.extend(probs)
            filled = [i for i, v in enumerate(vals) if v is None and more[i] is not None]
            for i in filled:
                vals[i] = more[i]
            mapping[f.name] += f", else {fb.describe()}"
            if filled:
                notes.append(f"{len(filled)} blank {f.name} value(s) filled from '{fb.column}'")
        if src.origin not in ("constant", "default") and f.name in defaults:
            blank = [i for i, v in enumerate(vals) if v is None]
            for i in blank:
                vals[i] = defaults[f.name]
            if blank:
                notes.append(f"{len(blank)} row(s) without {f.name}: {defaults[f.name]!r}")
        out[f.name] = vals
    for flag in plan.flags:
        col = next(c for c in frame.columns if norm(c) == norm(flag.column))
        hit = frame[col].astype(object).map(lambda v: str(v).strip().lower())
        rows = np.flatnonzero(hit.isin(flag.values).to_numpy())
        for target, value in flag.sets.items():
            for r in rows.tolist():
                out[target][r] = value
        if len(rows):
            notes.append(f"{len(rows)} row(s): {flag.note}")
    canonical = pd.DataFrame(
        {f.name: _typed(out[f.name], f, frame.index) for f in schema.fields}, index=frame.index
    )
    extras = _extras(frame, plan, schema.columns, notes)
    return Mapped(canonical, extras, mapping, tuple(notes), tuple(problems))


def _extras(
    frame: pd.DataFrame, plan: ColumnPlan, canonical: list[str], notes: list[str]
) -> pd.DataFrame:
    keep = [c for c in frame.columns if c not in plan.used and c != "geometry"]
    extras = frame[keep].copy()
    clash = {c: f"{c}_source" for c in keep if c in canonical}
    if clash:
        extras = extras.rename(columns=clash)
        notes.append(
            "unused source column(s) named like canonical columns renamed: "
            + ", ".join(f"{a} -> {b}" for a, b in clash.items())
        )
    return extras
