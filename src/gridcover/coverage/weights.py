"""The priority weights file (TOML): loading, validation, defaults.

The default file ships as package data (``gridcover/data/weights.toml``) with comments in
Chinese and English; ``default_weights_text()`` returns it so users can copy and edit it.
Every key is checked: an unknown key or a negative weight is a ``SchemaError`` naming the
file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gridcover.errors import SchemaError

__all__ = ["TARGET_KEYS", "Weights", "default_weights_text", "load_weights"]

TARGET_KEYS = (
    "covered_pct",
    "priority_weighted_pct",
    "roads_pct",
    "intersections_pct",
    "sites_pct",
    "incidents_pct",
)

DETAIL_KEYS = ("roads", "intersections", "sites", "incidents")
DETAIL_LEVELS = {"detect": 1, "observe": 2, "recognise": 3, "identify": 4}

_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "cells": {"exclude_buildings": bool, "base": float, "combine": str, "priority_min": float},
    "roads": {
        "buffer_m": float,
        "default": float,
        "class_weights": dict,
        "other_class": str,
        "class_map": dict,
    },
    "intersections": {
        "min_degree": int,
        "radius_m": float,
        "weight": float,
        "main_bonus": float,
        "main_classes": list,
        "classes": list,
    },
    "sites": {"radius_m": float, "kind_weights": dict},
    "incidents": {"radius_m": float, "per_incident": float, "max": float},
    "positions": {
        "school_radius_m": float,
        "complex_radius_m": float,
        "complex_weight": float,
        "trunk_radius_m": float,
    },
    "targets": dict.fromkeys(TARGET_KEYS, float),
    "detail": dict.fromkeys(DETAIL_KEYS, str),
}


def default_weights_text() -> str:
    """The packaged default weights file, comments included (TOML text)."""
    return resources.files("gridcover").joinpath("data/weights.toml").read_text(encoding="utf-8")


def _frozen(d: dict[str, float]) -> MappingProxyType[str, float]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Weights:
    """Parsed weights file. Distances in metres; weights are dimensionless, ≥ 0."""

    exclude_buildings: bool
    base: float
    combine: str
    priority_min: float
    road_buffer_m: float
    road_default: float
    road_classes: MappingProxyType[str, float]
    intersection_min_degree: int
    intersection_radius_m: float
    intersection_weight: float
    intersection_main_bonus: float
    intersection_main_classes: tuple[str, ...]
    intersection_classes: tuple[str, ...]
    site_radius_m: float
    site_kinds: MappingProxyType[str, float]
    incident_radius_m: float
    incident_per_count: float
    incident_max: float
    targets: MappingProxyType[str, float] = field(default_factory=lambda: _frozen({}))
    source: str = "default weights"
    road_other_class: str = "residential"
    road_class_map: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    detail_targets: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Required DORI level (1 detect .. 4 identify) per priority class, ``[detail]``."""
    school_radius_m: float = 100.0
    """``[positions]``: metres around a camera declaring GB/T 28181 PositionType 8 (校园周边)."""
    complex_radius_m: float = 100.0
    """``[positions]``: metres around a camera declaring PositionType 9 (治安复杂区域)."""
    complex_weight: float = 5.0
    """``[positions]``: weight of a declared complex public-security area (its own class)."""
    trunk_radius_m: float = 30.0
    """``[positions]``: metres around a camera declaring PositionType 10 (交通干线)."""

    def road_weight(self, road_class: str) -> float:
        return float(self.road_classes.get(road_class, self.road_default))


def _check(doc: dict[str, Any], source: str) -> None:
    for section, value in doc.items():
        if section == "version":
            continue
        if section not in _SCHEMA:
            raise SchemaError(
                f"{source}: unknown section [{section}]; allowed: {', '.join(_SCHEMA)}."
            )
        if not isinstance(value, dict):
            raise SchemaError(f"{source}: [{section}] must be a table.")
        for key, v in value.items():
            want = _SCHEMA[section].get(key)
            if want is None:
                allowed = ", ".join(_SCHEMA[section])
                raise SchemaError(f"{source}: unknown key {section}.{key}; allowed: {allowed}.")
            ok = (
                isinstance(v, int | float) and not isinstance(v, bool)
                if want is float
                else isinstance(v, want) and not (want is int and isinstance(v, bool))
            )
            if not ok:
                kind = getattr(want, "__name__", str(want))
                raise SchemaError(f"{source}: {section}.{key} = {v!r} should be a {kind}.")
            if isinstance(v, int | float) and not isinstance(v, bool) and v < 0:
                raise SchemaError(f"{source}: {section}.{key} = {v} must not be negative.")
            if isinstance(v, dict) and (section, key) == ("roads", "class_map"):
                for k2, w in v.items():
                    if not isinstance(w, str):
                        raise SchemaError(
                            f"{source}: roads.class_map.{k2} = {w!r} must be a class name "
                            '(text), e.g. "primary".'
                        )
            elif isinstance(v, dict):
                for k2, w in v.items():
                    if isinstance(w, bool) or not isinstance(w, int | float) or w < 0:
                        raise SchemaError(
                            f"{source}: {section}.{key}.{k2} = {w!r} must be a number ≥ 0."
                        )
    for key, name in doc.get("detail", {}).items():
        if name not in DETAIL_LEVELS:
            raise SchemaError(
                f"{source}: detail.{key} = {name!r}; use one of {', '.join(DETAIL_LEVELS)}."
            )
    combine = doc.get("cells", {}).get("combine", "sum")
    if combine not in ("sum", "max"):
        raise SchemaError(f'{source}: cells.combine = {combine!r} must be "sum" or "max".')


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{source}: not valid TOML ({exc}); fix the line it names.") from exc


def load_weights(path: str | Path | None = None) -> Weights:
    """Read a weights file; keys it leaves out keep the packaged defaults.

    ``path=None`` returns the packaged defaults. ``[targets]`` is taken as written when the
    file has that table (a target left out is not checked), else the default targets apply.
    """
    default = _parse(default_weights_text(), "default weights.toml")
    _check(default, "default weights.toml")
    source = "default weights"
    doc = default
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise SchemaError(f"Weights file {p} does not exist; give a TOML file path.")
        source = str(p)
        user = _parse(p.read_text(encoding="utf-8"), source)
        _check(user, source)
        doc = _merge(default, user)
        if "targets" in user:
            doc["targets"] = dict(user["targets"])
    c, r, i, s, n = (doc[k] for k in ("cells", "roads", "intersections", "sites", "incidents"))
    pos = doc["positions"]
    class_map = {str(k): str(v) for k, v in r.get("class_map", {}).items()}
    other = str(r.get("other_class", "residential"))
    for what, cls in [("other_class", other)] + [
        (f"class_map.{k}", v) for k, v in class_map.items()
    ]:
        if cls not in r["class_weights"]:
            raise SchemaError(
                f"{source}: roads.{what} = {cls!r} is not a class of [roads.class_weights]; "
                f"use one of {', '.join(sorted(r['class_weights']))}."
            )
    return Weights(
        exclude_buildings=bool(c["exclude_buildings"]),
        base=float(c["base"]),
        combine=str(c["combine"]),
        priority_min=float(c["priority_min"]),
        road_buffer_m=float(r["buffer_m"]),
        road_default=float(r["default"]),
        road_classes=_frozen({k: float(v) for k, v in r["class_weights"].items()}),
        intersection_min_degree=int(i["min_degree"]),
        intersection_radius_m=float(i["radius_m"]),
        intersection_weight=float(i["weight"]),
        intersection_main_bonus=float(i["main_bonus"]),
        intersection_main_classes=tuple(map(str, i["main_classes"])),
        intersection_classes=tuple(map(str, i["classes"])),
        site_radius_m=float(s["radius_m"]),
        site_kinds=_frozen({k: float(v) for k, v in s["kind_weights"].items()}),
        incident_radius_m=float(n["radius_m"]),
        incident_per_count=float(n["per_incident"]),
        incident_max=float(n["max"]),
        targets=_frozen({k: float(v) for k, v in doc.get("targets", {}).items()}),
        source=source,
        road_other_class=other,
        road_class_map=MappingProxyType(class_map),
        detail_targets=MappingProxyType(
            {k: DETAIL_LEVELS[v] for k, v in doc.get("detail", {}).items()}
        ),
        school_radius_m=float(pos["school_radius_m"]),
        complex_radius_m=float(pos["complex_radius_m"]),
        complex_weight=float(pos["complex_weight"]),
        trunk_radius_m=float(pos["trunk_radius_m"]),
    )
