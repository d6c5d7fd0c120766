"""Import profiles: how to read each layer kind, in one TOML file a planner can edit.

A profile holds, per layer kind, the same options ``read_layer`` takes (column mapping, value
mapping, CRS, Chinese coordinate system, encoding, sub-layer / sheet, constants)::

    [cameras]
    coord_sys = "gcj02"          # wgs84 | gcj02 (AMap/Tencent) | bd09 (Baidu)
    encoding = "gbk"
    layer = "台账"               # GeoPackage layer, zip member or XLSX sheet
    [cameras.columns]            # source column = canonical column ("" = ignore it)
    "方位" = "azimuth_deg"
    [cameras.values.type]        # raw value = canonical value, before parsing
    "枪机A" = "bullet"
    [cameras.constants]          # one value for every row
    status = "online"

The CLI (``--profile FILE``), the Python API (``read_layer(..., profile=FILE)``) and the
upload route (``profile`` form field) read the same file with :func:`load_profile`, so the
same profile gives the same layer through every door. Unknown keys, unknown kinds and names
that are not canonical columns are errors naming the fix.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gridcover.errors import SchemaError
from gridcover.gis.schemas import KINDS, SCHEMAS

COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")
_TEXT_KEYS = ("crs", "coord_sys", "encoding", "layer")
_TABLE_KEYS = ("columns", "values", "constants")


@dataclass(frozen=True)
class LayerOptions:
    """How to read one layer: the keyword arguments of ``read_layer`` besides kind."""

    columns: Mapping[str, str | None] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    crs: str | None = None
    coord_sys: str | None = None
    encoding: str | None = None
    layer: str | None = None

    def over(self, base: LayerOptions) -> LayerOptions:
        """These options on top of ``base`` (tables merged key by key, these win)."""
        return LayerOptions(
            columns={**base.columns, **self.columns},
            values={
                k: {**base.values.get(k, {}), **self.values.get(k, {})}
                for k in {*base.values, *self.values}
            },
            constants={**base.constants, **self.constants},
            crs=self.crs or base.crs,
            coord_sys=self.coord_sys or base.coord_sys,
            encoding=self.encoding or base.encoding,
            layer=self.layer or base.layer,
        )

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``read_layer`` (empty options left out)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _TEXT_KEYS if getattr(self, k)}
        out.update({k: dict(getattr(self, k)) for k in _TABLE_KEYS if getattr(self, k)})
        return out


@dataclass(frozen=True)
class ImportProfile:
    """Layer options per kind, with the file they came from (for messages)."""

    layers: Mapping[str, LayerOptions] = field(default_factory=dict)
    source: str = "profile"

    def for_kind(self, kind: str) -> LayerOptions:
        return self.layers.get(kind, LayerOptions())


def _fail(source: str, where: str, what: str, fix: str) -> SchemaError:
    return SchemaError(f"{source}: {where}: {what}; fix: {fix}.")


def layer_options(data: Mapping[str, Any], kind: str, source: str) -> LayerOptions:
    """Validated ``LayerOptions`` of ``kind`` from a TOML table (or an upload's JSON)."""
    if kind not in SCHEMAS:
        raise _fail(
            source,
            f"[{kind}]",
            f"'{kind}' is not a layer kind",
            f"name the table after one of {', '.join(KINDS)}",
        )
    schema = SCHEMAS[kind]
    cols = schema.columns
    for key in data:
        if key not in (*_TEXT_KEYS, *_TABLE_KEYS):
            raise _fail(
                source,
                f"[{kind}]",
                f"unknown key '{key}'",
                f"use only {', '.join((*_TEXT_KEYS, *_TABLE_KEYS))} (a column mapping goes "
                f'under [{kind}.columns] as "SOURCE" = "CANONICAL")',
            )
    for key in _TEXT_KEYS:
        if key in data and not isinstance(data[key], str):
            raise _fail(source, f"[{kind}] {key}", f"{data[key]!r} is not text", "quote it")
    cs = data.get("coord_sys")
    if cs is not None and cs.lower() not in COORD_SYSTEMS:
        raise _fail(
            source, f"[{kind}] coord_sys", f"'{cs}' is unknown", f"use {', '.join(COORD_SYSTEMS)}"
        )
    tables = {k: data.get(k, {}) for k in _TABLE_KEYS}
    for key, table in tables.items():
        if not isinstance(table, Mapping):
            raise _fail(source, f"[{kind}.{key}]", "is not a table", f"write [{kind}.{key}]")
    columns: dict[str, str | None] = {}
    for src, target in tables["columns"].items():
        if target not in ("", None, *cols):
            raise _fail(
                source,
                f'[{kind}.columns] "{src}"',
                f"'{target}' is not a canonical column of {kind}",
                f'map it to one of {", ".join(cols)}, or to "" to ignore the column',
            )
        columns[str(src)] = target or None
    for target in (*tables["values"], *tables["constants"]):
        if target not in cols:
            raise _fail(
                source,
                f"[{kind}.values/constants]",
                f"'{target}' is not a canonical column of {kind}",
                f"use one of {', '.join(cols)}",
            )
    from gridcover.gis.columns import check_value_maps

    values = check_value_maps(tables["values"], schema, f"{source} [{kind}.values]")
    return LayerOptions(
        columns=columns,
        values=values,
        constants=dict(tables["constants"]),
        crs=data.get("crs"),
        coord_sys=cs.lower() if cs else None,
        encoding=data.get("encoding"),
        layer=data.get("layer"),
    )


def profile_from_dict(data: Mapping[str, Any], source: str = "profile") -> ImportProfile:
    """An ``ImportProfile`` from parsed TOML/JSON ({kind: {key: value}}), validated."""
    layers: dict[str, LayerOptions] = {}
    for kind, table in data.items():
        if not isinstance(table, Mapping):
            raise _fail(
                source,
                f"'{kind}'",
                "top-level keys must be layer kinds holding tables",
                f"put options under [{KINDS[1]}] etc. ({', '.join(KINDS)})",
            )
        layers[kind] = layer_options(table, kind, source)
    return ImportProfile(layers, source)


def load_profile(source: str | Path | ImportProfile | Mapping[str, Any]) -> ImportProfile:
    """Read and validate a profile: a TOML file, a parsed mapping, or a profile already."""
    if isinstance(source, ImportProfile):
        return source
    if isinstance(source, Mapping):
        return profile_from_dict(source)
    path = Path(source)
    if not path.is_file():
        raise SchemaError(f"{path}: profile file not found; give the path of a .toml profile.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SchemaError(
            f"{path}: the profile is not valid TOML ({exc}); fix the line named, or write a "
            "new one with gridcover inspect FILE --kind K --write-profile P.toml."
        ) from None
    return profile_from_dict(data, str(path))


def _q(text: Any) -> str:
    return json.dumps(text, ensure_ascii=False) if isinstance(text, str) else repr(text)


def profile_toml(kind: str, options: LayerOptions, comment: str = "") -> str:
    """TOML text of a profile holding ``options`` for ``kind`` (readable, zh/en comments)."""
    lines = ["# gridcover import profile (docs/DATA.md, 'Import profiles')", *comment.splitlines()]
    lines += ["", f"[{kind}]"]
    for key in _TEXT_KEYS:
        if getattr(options, key):
            lines.append(f"{key} = {_q(getattr(options, key))}")
    lines += ["", f'[{kind}.columns]  # source column = canonical column ("" = ignore)']
    lines += [f"{_q(s)} = {_q(t or '')}" for s, t in options.columns.items()]
    for target, table in options.values.items():
        lines += ["", f"[{kind}.values.{target}]  # raw value = canonical value"]
        lines += [f"{_q(k)} = {_q(v)}" for k, v in table.items()]
    if options.constants:
        lines += ["", f"[{kind}.constants]"]
        lines += [f"{k} = {_q(v)}" for k, v in options.constants.items()]
    return "\n".join(lines) + "\n"


def with_kind(profile: ImportProfile, kind: str, options: LayerOptions) -> ImportProfile:
    """A copy of ``profile`` whose ``kind`` options are ``options`` on top of its own."""
    layers = dict(profile.layers)
    layers[kind] = options.over(profile.for_kind(kind))
    return replace(profile, layers=layers)
