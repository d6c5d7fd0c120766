"""Geometry, coordinate and value checks for layers being read.

Every check is vectorised over a whole layer and returns ``RowProblem`` values (the rows,
what is wrong, how to fix it) instead of raising, so ``read_layer`` can report every problem
of a file at once in one ``ValidationReport``. Decisions (docs/DATA.md):

* invalid polygons: repaired only with ``shapely.make_valid`` (never ``buffer(0)``) and only
  where the kind allows it (``REPAIR_DEFAULT``); repaired rows are listed in the report;
* unclosed rings: treated like invalid polygons (repair = close the ring);
* 3D coordinates: Z is dropped with a note (heights come from attribute columns);
* azimuth outside 0..360: normalised modulo 360 with a note; FOV outside (0, 360]: error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import shapely

from gridcover.errors import DuplicateKeyError, ValidationReport
from gridcover.gis.schemas import LayerSchema

OnInvalid = Literal["raise", "repair", "keep"]
REPAIR_DEFAULT: dict[str, OnInvalid] = {
    "grids": "raise",  # official boundaries: fix at the source, or ask for repair explicitly
    "buildings": "repair",
    "sites": "repair",
    "incidents": "repair",
}
_TYPES: dict[str, tuple[str, ...]] = {
    "point": ("Point",),
    "polygon": ("Polygon", "MultiPolygon"),
    "line": ("LineString", "MultiLineString"),
    "point_or_polygon": ("Point", "Polygon", "MultiPolygon"),
}
_SHOWN = 8


@dataclass(frozen=True)
class RowProblem:
    """Rows (0-based positions in the layer) that share one problem and its fix."""

    rows: np.ndarray
    message: str
    fix: str


@dataclass(frozen=True)
class RowLabels:
    """How rows are named in messages: 'feature <fid>' or 'row <n>', plus the id if known."""

    noun: str
    numbers: np.ndarray
    id_name: str | None = None
    ids: np.ndarray | None = None

    def describe(self, rows: np.ndarray) -> str:
        """'feature 5 (code '0111')' or 'rows 1, 2, 3 (camera_id '195', '232', '233')'."""
        rows = np.asarray(rows, dtype=np.int64)
        shown = rows[:_SHOWN]
        text = ", ".join(str(self.numbers[r]) for r in shown)
        if len(rows) > _SHOWN:
            text += f", ... ({len(rows)} in all)"
        noun = self.noun if len(rows) == 1 else f"{self.noun}s"
        ids = [] if self.ids is None else [self.ids[r] for r in shown]
        known = [str(i) for i in ids if i is not None and i == i]
        if known and len(known) == len(ids):
            text += f" ({self.id_name} " + ", ".join(f"'{i}'" for i in known) + ")"
        return f"{noun} {text}"


@dataclass
class GeometryCheck:
    """Geometries after the allowed fixes, with the problems, notes and repaired rows."""

    geoms: np.ndarray
    ok: np.ndarray  # rows with a usable geometry (present, non-empty, finite, right type)
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repaired: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)  # collapsed to nothing when repaired


def parse_wkb(wkb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shapely geometries from WKB; also the rows GEOS refused and their 'fixed' versions.

    GDAL accepts rings whose first and last vertex differ; GEOS does not. Those rows come
    back as None with ``unbuilt`` True; ``fixed`` holds what shapely's ``on_invalid='fix'``
    makes of them (the ring closed), or None.
    """
    with np.errstate(invalid="ignore"):
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    present = np.array([w is not None for w in wkb], dtype=bool)
    unbuilt = present & shapely.is_missing(geoms)
    fixed = np.full(len(wkb), None, dtype=object)
    if unbuilt.any():
        fixed[unbuilt] = shapely.from_wkb(wkb[unbuilt], on_invalid="fix")
    return np.asarray(geoms, dtype=object), unbuilt, fixed


def check_geometries(
    geoms: np.ndarray,
    schema: LayerSchema,
    on_invalid: OnInvalid,
    unbuilt: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    explained: np.ndarray | None = None,
    labels: RowLabels | None = None,
) -> GeometryCheck:
    """Check and normalise geometries of a layer of kind ``schema``.

    Null/empty, wrong type, non-finite coordinates and (per ``on_invalid``) invalid
    polygons and unclosed rings are problems. Z is dropped and single-part MultiPoints
    become Points, each with a note. ``explained`` marks rows whose missing geometry is
    already reported (e.g. unreadable CSV coordinates); ``labels`` names rows in notes.
    """
    g = np.array(geoms, dtype=object, copy=True)
    n = len(g)
    out = GeometryCheck(g, np.zeros(n, dtype=bool))
    unbuilt = np.zeros(n, bool) if unbuilt is None else unbuilt
    if unbuilt.any():
        rows = np.flatnonzero(unbuilt)
        if (
            on_invalid == "repair"
            and fixed is not None
            and not shapely.is_missing(fixed[rows]).any()
        ):
            g[rows] = fixed[rows]
            out.repaired.extend(rows.tolist())
            out.notes.append(f"{len(rows)} unclosed ring(s) closed (shapely on_invalid='fix')")
        else:
            out.problems.append(
                RowProblem(
                    rows,
                    "a ring is not closed (its last vertex differs from its first) or has "
                    "fewer than 4 vertices",
                    "repeat the first vertex at the end of each ring, or pass "
                    "on_invalid='repair' (CLI: --repair) to close it",
                )
            )
    missing = shapely.is_missing(g) & ~unbuilt
    if explained is not None:
        missing &= ~explained
    if missing.any():
        out.problems.append(
            RowProblem(
                np.flatnonzero(missing), "has no geometry (null)", "give it a shape or delete it"
            )
        )
    empty = ~shapely.is_missing(g) & shapely.is_empty(g)
    if empty.any():
        out.problems.append(
            RowProblem(
                np.flatnonzero(empty), "has an empty geometry", "give it a shape or delete it"
            )
        )
    ok = ~shapely.is_missing(g) & ~empty
    has_z = ok & shapely.has_z(g)
    if has_z.any():
        g[has_z] = shapely.force_2d(g[has_z])
        which = (
            labels.describe(np.flatnonzero(has_z))
            if labels is not None
            else f"{int(has_z.sum())} feature(s)"
        )
        out.notes.append(
            f"{which} had Z coordinates; Z dropped (layers are 2D: give heights in a column "
            "such as height_m)"
        )
    _check_finite(g, ok, out)
    _check_types(g, ok, schema, out)
    if schema.geometry in ("polygon", "point_or_polygon"):
        _check_validity(g, ok, schema, on_invalid, out)
    out.ok = ok
    return out


def _check_finite(g: np.ndarray, ok: np.ndarray, out: GeometryCheck) -> None:
    coords, idx = shapely.get_coordinates(g[ok], return_index=True)
    bad_parts = ~np.isfinite(coords).all(axis=1)
    if bad_parts.any():
        rows = np.flatnonzero(ok)[np.unique(idx[bad_parts])]
        ok[rows] = False
        out.problems.append(
            RowProblem(rows, "has NaN or infinite coordinates", "correct or delete those vertices")
        )


def _check_types(g: np.ndarray, ok: np.ndarray, schema: LayerSchema, out: GeometryCheck) -> None:
    types = np.asarray(shapely.get_type_id(g))
    names = np.array(
        [
            "Point",
            "LineString",
            "LinearRing",
            "Polygon",
            "MultiPoint",
            "MultiLineString",
            "MultiPolygon",
            "GeometryCollection",
        ]
        + [""] * 3
    )
    tname = np.where(ok, names[np.clip(types, 0, 10)], "")
    allowed = _TYPES[schema.geometry]
    single_mp = ok & (tname == "MultiPoint") & (shapely.get_num_geometries(g) == 1)
    if "Point" in allowed and single_mp.any():
        g[single_mp] = shapely.get_geometry(g[single_mp], 0)
        tname[single_mp] = "Point"
        out.notes.append(f"{int(single_mp.sum())} single-part MultiPoint(s) read as Point")
    wrong = ok & ~np.isin(tname, allowed)
    if not wrong.any():
        return
    found = pd.Series(tname[ok]).value_counts().to_dict()
    mix = ", ".join(f"{k} {v}" for k, v in found.items())
    for t in pd.unique(tname[wrong]):
        rows = np.flatnonzero(wrong & (tname == t))
        ok[rows] = False
        out.problems.append(
            RowProblem(
                rows,
                f"is a {t}, but kind '{schema.kind}' needs {' or '.join(allowed)} "
                f"(geometry types in the layer: {mix})",
                "split the layer by geometry type or choose the kind that fits",
            )
        )


def _check_validity(
    g: np.ndarray, ok: np.ndarray, schema: LayerSchema, on_invalid: OnInvalid, out: GeometryCheck
) -> None:
    poly = ok & np.isin(shapely.get_type_id(g), (3, 6))
    bad = poly & ~shapely.is_valid(g)
    if not bad.any():
        return
    rows = np.flatnonzero(bad)
    reasons = np.asarray(shapely.is_valid_reason(g[rows]), dtype=object)
    if on_invalid == "keep":
        out.notes.append(f"{len(rows)} invalid polygon(s) kept as they are (on_invalid='keep')")
        return
    if on_invalid == "repair":
        fixed = shapely.make_valid(g[rows], method="structure", keep_collapsed=False)
        gone = shapely.is_empty(fixed) | ~np.isin(shapely.get_type_id(fixed), (3, 6))
        g[rows[~gone]] = fixed[~gone]
        out.repaired.extend(rows[~gone].tolist())
        if (~gone).any():
            out.notes.append(
                f"{int((~gone).sum())} invalid polygon(s) repaired with shapely.make_valid"
            )
        if gone.any():
            out.dropped.extend(rows[gone].tolist())
            ok[rows[gone]] = False
            out.notes.append(
                f"{int(gone.sum())} degenerate polygon(s) (zero area: {_reasons(reasons[gone])}) "
                "collapse to nothing when repaired and were dropped"
            )
        return
    for reason in pd.unique(pd.Series([str(r).split("[")[0] for r in reasons])):
        sel = np.array([str(r).split("[")[0] == reason for r in reasons])
        where = "; ".join(str(r) for r in reasons[sel][:3])
        out.problems.append(
            RowProblem(
                rows[sel],
                f"is an invalid polygon ({where})",
                f"fix it in your GIS (QGIS: Fix geometries) or pass on_invalid='repair' "
                f"(CLI: --repair) to repair it with shapely.make_valid; {schema.kind} are not "
                "repaired silently",
            )
        )


def _reasons(reasons: np.ndarray) -> str:
    return ", ".join(sorted({str(r).split("[")[0].lower() for r in reasons}))


def check_values(
    canonical: pd.DataFrame, schema: LayerSchema, guessed: dict[str, str] | None = None
) -> tuple[list[RowProblem], list[str]]:
    """Required values present, allowed categories, numeric ranges; azimuth taken mod 360.

    ``guessed`` ({canonical: source column}) names columns chosen by their name only: an id
    taken that way but empty on some rows says so, with the mapping fix. Modifies
    ``canonical`` in place for the documented normalisations.
    """
    problems: list[RowProblem] = []
    notes: list[str] = []
    for f in schema.fields:
        s = canonical[f.name]
        label = f"{f.name} ({f.zh})"
        if f.required:
            rows = np.flatnonzero(s.isna().to_numpy())
            col = (guessed or {}).get(f.name) if f.name == schema.id_field else None
            if len(rows) and col:
                problems.append(
                    RowProblem(
                        rows,
                        f"has no {label}: column '{col}' was taken as {f.name} by its name "
                        "and is empty here",
                        f"fill it in, or map the column that holds every {f.name}: columns="
                        f"{{'COLUMN': '{f.name}'}} (CLI: --column {schema.kind}:COLUMN={f.name})",
                    )
                )
            elif len(rows):
                problems.append(
                    RowProblem(
                        rows,
                        f"has no {label}",
                        f"fill in {f.name} or map a column to it with columns=",
                    )
                )
        if f.allowed:
            bad = s.notna() & ~s.isin(f.allowed)
            if bad.any():
                problems.append(
                    RowProblem(
                        np.flatnonzero(bad.to_numpy()),
                        f"has {label} '{s[bad].iloc[0]}', not one of {', '.join(f.allowed)}",
                        "use one of the allowed values",
                    )
                )
        if f.dtype == "str":
            continue
        x = s.astype(float).to_numpy()
        if f.name == "azimuth_deg":
            wrap = np.isfinite(x) & ((x < 0) | (x >= 360))
            if wrap.any():
                canonical[f.name] = np.where(wrap, np.mod(x, 360.0), x)
                notes.append(f"{int(wrap.sum())} azimuth value(s) outside 0..360 taken modulo 360")
            continue
        low = (
            np.isfinite(x) & (x <= 0)
            if f.name == "fov_deg"
            else np.isfinite(x) & (x < (f.minimum if f.minimum is not None else -np.inf))
        )
        high = np.isfinite(x) & (x > (f.maximum if f.maximum is not None else np.inf))
        for mask, word in ((low, "too small"), (high, "too large")):
            if mask.any():
                rng = (
                    f"{'>' if f.name == 'fov_deg' else '>='} {f.minimum:g}"
                    if f.minimum is not None
                    else ""
                )
                if f.maximum is not None:
                    rng += f" and <= {f.maximum:g}"
                problems.append(
                    RowProblem(
                        np.flatnonzero(mask),
                        f"has {label} = {x[mask][0]:g}, {word} (must be {rng.strip()})",
                        f"correct {f.name} ({f.en})",
                    )
                )
    return problems, notes


def find_duplicates(ids: pd.Series) -> list[tuple[str, np.ndarray]]:
    """(value, rows) for every non-null value of ``ids`` that occurs more than once."""
    s = ids.reset_index(drop=True)
    dup = s.notna() & s.duplicated(keep=False)
    if not dup.any():
        return []
    groups = s[dup].groupby(s[dup], sort=False).groups
    return [(str(k), np.asarray(v, dtype=np.int64)) for k, v in groups.items()]


def raise_problems(
    source: str,
    problems: list[RowProblem],
    labels: RowLabels,
    duplicates: list[tuple[str, np.ndarray]] | None = None,
    id_name: str = "id",
) -> None:
    """Raise one ValidationReport for all problems (DuplicateKeyError when duplicates are
    the only problem). Does nothing when there is none."""
    dup_text = [
        f"{id_name} '{value}' appears {len(rows)} times ({labels.describe(rows)})"
        for value, rows in duplicates or []
    ]
    if dup_text and not problems:
        raise DuplicateKeyError(
            f"{source}: {len(dup_text)} {id_name} value(s) are not unique, nothing was read: "
            + "; ".join(dup_text[:20])
            + ("; ..." if len(dup_text) > 20 else "")
            + f". Make each {id_name} unique, or pass duplicates='keep' (CLI inspect/check keep "
            "them) to keep multi-part features as separate rows."
        )
    sentences = [f"{labels.describe(p.rows)}: {p.message}; fix: {p.fix}." for p in problems]
    if dup_text:
        sentences.append(
            f"duplicate {id_name} values: {'; '.join(dup_text[:10])}; fix: make each unique."
        )
    if sentences:
        raise ValidationReport(source, sentences)
