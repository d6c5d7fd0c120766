"""Real-world columns -> canonical columns, driven by tables (no per-source if-chains).

``plan_columns`` decides, from column names only, which source column fills which canonical
column and with which parser; ``apply_plan`` converts the values. Order of precedence:

1. an explicit ``columns={source: canonical}`` mapping (``None`` = do not use the column);
2. a source profile whose signature columns are all present (``PROFILES``: Chicago data);
3. the alias table of the kind (``ALIASES``), first alias present wins;
4. the OSM id columns (``osm_id`` / ``osm_way_id``) for the id field;
5. a documented default (``DEFAULTS``), or the file's feature id for geometry-only kinds.

Names are matched after normalisation: lower case, without spaces, ``_ - : . / ( )``.
docs/DATA.md shows the same tables.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridcover.errors import SchemaError
from gridcover.gis.aliases import ALIASES, PARSE_NOTES, Rule, _r, shared_targets
from gridcover.gis.schemas import KINDS, SCHEMAS, LayerSchema

__all__ = ["ALIASES", "DEFAULTS", "FLAGS", "PROFILES", "ColumnPlan", "Rule", "Source"]


@dataclass(frozen=True)
class Profile:
    """A known source (all ``requires`` columns present): its rules, constants and defaults."""

    name: str
    kind: str
    requires: tuple[str, ...]
    rules: tuple[Rule, ...] = ()
    constants: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Flag:
    """Rows whose ``column`` holds one of ``values`` get ``sets`` (overriding other sources)."""

    kind: str
    column: str
    values: tuple[str, ...]
    sets: Mapping[str, Any]
    note: str


def norm(name: str) -> str:
    """Normalised column name used for matching: lower case, no separators."""
    return re.sub(r"[\s_\-:./()（）]", "", str(name)).lower()


PROFILES: tuple[Profile, ...] = (
    Profile(
        "Chicago police districts",
        "grids",
        ("distnum",),
        rules=(_r("code", "DIST_NUM", "code2"), _r("name", "DIST_LABEL")),
        constants={"level": 1},
        note="Chicago police districts: DIST_NUM -> code (zero-padded to 2 digits, as in the "
        "beats' DISTRICT field), level 1",
    ),
    Profile(
        "Chicago police beats",
        "grids",
        ("beatnum", "district"),
        rules=(_r("code", "BEAT_NUM"), _r("parent_code", "DISTRICT")),
        constants={"level": 2},
        note="Chicago police beats: BEAT_NUM -> code, DISTRICT -> parent_code, level 2",
    ),
    Profile(
        "Chicago police stations",
        "posts",
        ("district", "districtname"),
        rules=(_r("post_id", "DISTRICT"), _r("name", "DISTRICT NAME")),
        constants={"kind": "station"},
        note="Chicago police stations: DISTRICT -> post_id, DISTRICT NAME -> name, kind station",
    ),
    Profile(
        "traffic enforcement cameras (approach codes)",
        "cameras",
        ("firstapproach",),
        rules=(_r("camera_id", "ID|LOCATION ID|INTERSECTION|ADDRESS"),),
        defaults={"type": "bullet"},
        note="traffic cameras: FIRST APPROACH (direction the monitored traffic travels) -> "
        "azimuth_deg facing that traffic (NB -> 180); fixed cameras -> type bullet",
    ),
)

FLAGS: tuple[Flag, ...] = (
    Flag(
        "cameras",
        "revolving",
        ("yes",),
        {"azimuth_deg": None, "type": "ptz"},
        "revolving=yes -> type ptz, azimuth empty (360°)",
    ),
)

DEFAULTS: dict[str, dict[str, Any]] = {
    "cameras": {"type": "other", "status": "unknown"},
    "roads": {"class": "other"},
    "sites": {"kind": "other"},
}
"""Values of required columns that no source column fills (documented in docs/DATA.md)."""

FID_ID_KINDS = ("buildings", "roads", "sites", "posts", "cameras")
"""Kinds whose id falls back to the file's feature id (FID, or the CSV/sheet row number)
when no id column exists; grids never do (a grid code is the planner's own key)."""

OSM_ID_KINDS = ("cameras", "posts", "buildings", "roads", "sites", "incidents")
"""Kinds whose id may come from OSM ids; not grids (osm_id is not a grid code)."""

OSM_ID_COLUMNS = ("osm_id", "osm_way_id")


@dataclass(frozen=True)
class Source:
    """Where one canonical column comes from: a column + parser, a constant, or the FID."""

    column: str | None
    parse: str
    constant: Any = None
    origin: str = "column"  # column | explicit | profile | constant | default | fid | osm

    def describe(self) -> str:
        if self.origin in ("constant", "default"):
            return f"{self.origin} {self.constant!r}"
        if self.origin == "fid":
            return "feature id (FID) of the file"
        if self.origin == "osm":
            return "osm_id / osm_way_id with element type (osm-node-N, osm-way-N, ...)"
        return f"{self.column!r}" + ("" if self.parse in ("auto", "code") else f" ({self.parse})")


@dataclass(frozen=True)
class ColumnPlan:
    """Which source fills each canonical column, which flags apply, what was noted."""

    kind: str
    sources: Mapping[str, Source]
    fallbacks: Mapping[str, tuple[Source, ...]]  # fill blanks of the main source, in order
    flags: tuple[Flag, ...]
    used: frozenset[str]
    notes: tuple[str, ...]
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def get_schema(kind: str) -> LayerSchema:
    """The schema of ``kind``; SchemaError listing the valid kinds otherwise."""
    if kind not in SCHEMAS:
        raise SchemaError(
            f"Unknown layer kind '{kind}'; valid kinds are: {', '.join(KINDS)} "
            "(CLI: --kind grids, for example)."
        )
    return SCHEMAS[kind]


def _find(names: Sequence[str], by_norm: Mapping[str, str], used: set[str]) -> str | None:
    found = _find_all(names, by_norm, used)
    return found[0] if found else None


def _find_all(names: Sequence[str], by_norm: Mapping[str, str], used: set[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        col = by_norm.get(norm(n))
        if col is not None and col not in used and col not in out:
            out.append(col)
    return out


def _explicit(
    explicit: Mapping[str, str | None], present: Sequence[str], schema: LayerSchema, label: str
) -> tuple[dict[str, Source], set[str], set[str]]:
    """Sources named by ``columns=``, the columns they use, and the columns set to None."""
    sources: dict[str, Source] = {}
    used: set[str] = set()
    ignored: set[str] = set()
    for src, target in explicit.items():
        if src not in present:
            raise SchemaError(
                f"{label}: columns= names source column '{src}', which the file does not have; "
                f"its columns are: {', '.join(map(str, present))}."
            )
        if target is None:
            ignored.add(src)
            continue
        if target not in schema.columns:
            raise SchemaError(
                f"{label}: columns= maps '{src}' to '{target}', which is not a column of kind "
                f"'{schema.kind}'; use one of: {', '.join(schema.columns)}."
            )
        rule = next((r for r in ALIASES[schema.kind] if r.target == target), None)
        parse = rule.parse if rule and rule.parse not in ("approach", "levels") else "auto"
        sources[target] = Source(src, parse, origin="explicit")
        if target not in shared_targets(schema.kind):
            used.add(src)
    return sources, used, ignored


def _constants(
    constants: Mapping[str, Any], sources: Mapping[str, Source], schema: LayerSchema, label: str
) -> dict[str, Source]:
    """Sources for ``constants={canonical: value}``: one value for every row."""
    out: dict[str, Source] = {}
    for target, value in constants.items():
        if target not in schema.columns:
            raise SchemaError(
                f"{label}: constants= sets '{target}', which is not a column of kind "
                f"'{schema.kind}'; use one of: {', '.join(schema.columns)}."
            )
        if target in sources:
            raise SchemaError(
                f"{label}: '{target}' is given twice, by columns= (source column "
                f"'{sources[target].column}') and by constants=; keep one of them."
            )
        dtype = schema.get(target).dtype
        if value is not None and dtype != "str":
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = float("nan")
            if not math.isfinite(number) or (dtype == "int" and number != int(number)):
                raise SchemaError(
                    f"{label}: constants= sets '{target}' to {value!r}, which is not "
                    f"{'a whole number' if dtype == 'int' else 'a number'}; give a number."
                )
            value = int(number) if dtype == "int" else number
        elif value is not None:
            value = str(value)
        out[target] = Source(None, "auto", value, "constant")
    return out


def plan_columns(
    present: Sequence[str],
    kind: str,
    explicit: Mapping[str, str | None] | None = None,
    label: str = "input",
    constants: Mapping[str, Any] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
) -> ColumnPlan:
    """Decide the source of every canonical column of ``kind`` from the column names.

    ``constants`` ({canonical: value}) fills a canonical column with one value for every
    row (e.g. ``{"level": 2}`` for a single-level grid file); it wins over alias and profile
    columns, and may not name a column that ``explicit`` already maps. ``values``
    ({canonical: {raw text: value}}) maps a column's raw values before they are parsed
    (e.g. ``{"type": {"枪机A": "bullet"}}``); a value the schema does not allow is an error.

    Raises SchemaError naming the missing required columns, what was found and the
    ``columns=`` fix.
    """
    schema = get_schema(kind)
    present = [c for c in present if c != "geometry"]
    sources, used, ignored = _explicit(explicit or {}, present, schema, label)
    sources.update(_constants(constants or {}, sources, schema, label))
    by_norm: dict[str, str] = {}
    for c in present:
        if c not in used and c not in ignored:
            by_norm.setdefault(norm(c), c)
    notes: list[str] = []
    defaults: dict[str, Any] = dict(DEFAULTS.get(kind, {}))
    for prof in PROFILES:
        if prof.kind != kind or not all(r in by_norm for r in prof.requires):
            continue
        for rule in prof.rules:
            col = _find(rule.names, by_norm, used)
            if rule.target not in sources and col is not None:
                sources[rule.target] = Source(col, rule.parse, origin="profile")
                used.add(col)
        for target, value in prof.constants.items():
            sources.setdefault(target, Source(None, "auto", value, "constant"))
        defaults.update(prof.defaults)
        notes.append(prof.note)
    fallbacks: dict[str, list[Source]] = {}
    keys = {schema.id_field, "code", "parent_code", "level"}
    for rule in ALIASES[kind]:
        cols = _find_all(rule.names, by_norm, used)
        if not cols:
            continue
        take = set() if rule.share else used  # a shared column stays free for later rules
        if rule.target not in sources:
            sources[rule.target] = Source(cols[0], rule.parse, origin="column")
            take.add(cols[0])
            cols = cols[1:]
        if rule.target in keys or sources[rule.target].origin != "column":
            continue
        for col in cols:  # further columns fill the blanks of the first (not for keys)
            fallbacks.setdefault(rule.target, []).append(Source(col, rule.parse, origin="column"))
            take.add(col)
    for note_parse, note in PARSE_NOTES.items():
        chosen = [*sources.values(), *(s for fb in fallbacks.values() for s in fb)]
        if any(s.parse == note_parse for s in chosen):
            notes.append(note)
    id_field = schema.id_field
    osm_cols = [by_norm[norm(c)] for c in OSM_ID_COLUMNS if norm(c) in by_norm]
    if id_field and id_field not in sources and osm_cols and kind in OSM_ID_KINDS:
        sources[id_field] = Source(None, "osm", origin="osm")
        used.update(osm_cols)
    flags = tuple(f for f in FLAGS if f.kind == kind and norm(f.column) in by_norm)
    for f in schema.fields:
        if f.name in sources:
            continue
        if f.name in defaults:
            sources[f.name] = Source(None, "auto", defaults[f.name], "default")
        elif f.name == id_field and kind in FID_ID_KINDS:
            sources[f.name] = Source(None, "auto", origin="fid")
            notes.append(
                f"no id column: {id_field} generated from the row order (feature id or row "
                "number), stable while the file's rows keep their order"
            )
        elif f.name == "level" and kind == "grids" and "parent_code" not in sources:
            sources[f.name] = Source(None, "auto", 1, "default")
            notes.append("no level column and no parent_code column: a single-level grid, level 1")
    missing = [f for f in schema.fields if f.required and f.name not in sources]
    if missing:
        raise _missing_error(label, schema, missing, present)
    fb = {k: tuple(v) for k, v in fallbacks.items()}
    vmap = check_value_maps(values or {}, schema, label)
    return ColumnPlan(kind, sources, fb, flags, frozenset(used), tuple(notes), vmap)


def check_value_maps(
    values: Mapping[str, Mapping[str, Any]], schema: LayerSchema, label: str
) -> dict[str, dict[str, Any]]:
    """Validated value maps {canonical: {raw: value}}; SchemaError naming the fix otherwise."""
    out: dict[str, dict[str, Any]] = {}
    for target, table in values.items():
        if target not in schema.columns:
            raise SchemaError(
                f"{label}: a value map is given for '{target}', which is not a column of kind "
                f"'{schema.kind}'; use one of: {', '.join(schema.columns)}."
            )
        f = schema.get(target)
        for raw, value in table.items():
            bad = (f.allowed and value not in f.allowed) or (
                f.dtype != "str" and not isinstance(value, int | float)
            )
            if bad:
                want = (
                    f"one of {', '.join(f.allowed)}"
                    if f.allowed
                    else ("a number" if f.dtype != "str" else "text")
                )
                raise SchemaError(
                    f"{label}: the value map of '{target}' maps '{raw}' to {value!r}, which "
                    f"{target} does not allow; map it to {want}."
                )
        out[target] = {str(k).strip(): v for k, v in table.items()}
    return out


def _missing_error(
    label: str, schema: LayerSchema, missing: list, present: Sequence[str]
) -> Exception:
    parts = []
    for f in missing:
        names = [n for r in ALIASES[schema.kind] if r.target == f.name for n in r.names]
        parts.append(f"'{f.name}' ({f.zh}, {f.en}; recognised names: {', '.join(names)})")
    example = ", ".join(f"'YOUR_COLUMN': '{f.name}'" for f in missing)
    kind = schema.kind
    cli = " ".join(f"--column {kind}:YOUR_COLUMN={f.name}" for f in missing)
    same = [f for f in missing if f.name == "level" or f.allowed]
    also = (
        ", or, when every row has the same value, give it with constants={"
        + ", ".join(f"'{f.name}': {'N' if f.name == 'level' else repr(f.allowed[0])}" for f in same)
        + "} (CLI: "
        + " ".join(
            f"--const {kind}:{f.name}={'N' if f.name == 'level' else f.allowed[0]}" for f in same
        )
        + f"; profile: [{kind}.constants])"
        if same
        else ""
    )
    return SchemaError(
        f"{label}: no column found for required {' and '.join(parts)} of kind "
        f"'{schema.kind}'. The file has: {', '.join(map(str, present)) or '(no columns)'}. "
        f"Name the column with columns={{{example}}} (CLI: {cli}){also}."
    )
