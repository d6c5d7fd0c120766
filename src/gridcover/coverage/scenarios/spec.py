"""A named scenario as a value with one JSON schema (CLI folder and API store alike).

A scenario names camera changes against the baseline analysis (disable, add, re-aim,
repair, counted owners) and records what it was made on: the analysis parameters and the
version (content digest) of every input layer, so a later comparison can say that the
inputs changed instead of comparing stale results. ``to_dict`` / ``from_dict`` are the
schema (version 1); ``from_dict`` refuses unknown or ill-typed fields with the field named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np

from gridcover.coverage.owners import OWNERS, owners_of
from gridcover.coverage.whatif import EDIT_FIELDS, Scenario
from gridcover.errors import InputError

__all__ = ["OWNERS", "SCHEMA_VERSION", "ScenarioSpec", "parse_reaim"]

SCHEMA_VERSION = 1
NAME = re.compile(r"^[\w\-.\u4e00-\u9fff]{1,64}$")
_ADDED_FIELDS = ("camera_id", "lon", "lat", "type", "azimuth_deg", "fov_deg", "range_m",
                 "height_m", "owner", "status")  # fmt: skip


_POSITIONAL = ("azimuth_deg", "fov_deg", "range_m")
REAIM_HELP = (
    "ID=AZ[,FOV[,RANGE]] or ID=KEY=VALUE[,KEY=VALUE...] with KEY one of "
    + ", ".join(EDIT_FIELDS)
    + " (an empty value: the type's default)"
)


def parse_reaim(text: str) -> tuple[str, dict[str, float | None]]:
    """One camera's re-aim from text (the CLI's ``--reaim``): ``ID=AZ[,FOV[,RANGE]]``
    (azimuth in degrees clockwise from north, FOV in degrees, range in metres), or keyed
    ``ID=KEY=VALUE[,KEY=VALUE...]`` with the keys of the scenario JSON and the API
    (``whatif.EDIT_FIELDS``: also ``height_m`` metres above ground, ``tilt_deg`` degrees
    below horizontal, ``resolution_px`` horizontal pixels); positional values may come
    before keyed ones; an empty value means the type's default (None).
    ``"cam-7=90,60"`` -> ``("cam-7", {"azimuth_deg": 90.0, "fov_deg": 60.0})``."""
    cid, sep, rest = text.partition("=")
    change: dict[str, float | None] = {}
    keyed = False  # after a KEY=VALUE, every value is keyed
    problem = "" if sep and cid.strip() and rest.strip() else "no ID=VALUES"
    for i, item in enumerate(rest.split(",") if not problem else []):
        key, eq, value = item.rpartition("=")
        key = key.strip() if eq else (_POSITIONAL[i] if i < len(_POSITIONAL) else "")
        keyed = keyed or bool(eq)
        if not key or (keyed and not eq) or (eq and key not in EDIT_FIELDS) or key in change:
            problem = (
                f"{item.strip()!r} is not a new value of {', '.join(EDIT_FIELDS)} (each at "
                "most once, positional ones first)"
            )
            break
        try:
            num = float(value) if value.strip() else None
        except ValueError:
            num = float("nan")
        if num is not None and not np.isfinite(num):
            problem = f"{item.strip()!r} is not a number"
            break
        change[key] = num
    if problem:
        raise InputError(
            f"--reaim {text!r}: {problem}; give {REAIM_HELP}, e.g. cam-7=90,60,80 or "
            "cam-7=height_m=12,tilt_deg=20,resolution_px=2688."
        )
    return cid.strip(), change


def check_name(name: str) -> str:
    """A scenario name: 1-64 letters, digits, '_', '-', '.' or Chinese characters."""
    if not isinstance(name, str) or not NAME.match(name) or name in ("baseline", "."):
        raise InputError(
            f"Scenario name {name!r} is not allowed: use 1-64 letters, digits, '_', '-', '.' "
            "or Chinese characters ('baseline' is the analysis itself)."
        )
    return name


@dataclass(frozen=True)
class ScenarioSpec:
    """``disabled`` / ``repaired``: camera ids; ``added``: camera rows (dicts with
    ``camera_id``, ``lon``, ``lat`` in EPSG:4326 degrees, optional ``type``,
    ``azimuth_deg`` (clockwise from north), ``fov_deg``, ``range_m`` (metres), ``owner``);
    ``reaimed``: id -> {azimuth_deg, fov_deg, range_m; 3D: height_m (metres above ground),
    tilt_deg (degrees below horizontal), resolution_px (horizontal pixels)};
    ``counted_owners``: when given, cameras whose ``owner`` is not listed do not count
    (unknown owner counts as ``other``); ``config``: the analysis parameters; ``inputs``:
    layer -> version;
    ``sources``: layer -> where it was read (a file path for the CLI, "store" for the API);
    ``created``: ISO time."""

    name: str
    description: str = ""
    disabled: tuple[str, ...] = ()
    repaired: tuple[str, ...] = ()
    added: tuple[Mapping[str, Any], ...] = ()
    reaimed: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    counted_owners: tuple[str, ...] | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    created: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)
        bad = [o for o in self.counted_owners or () if o not in OWNERS]
        if bad:
            raise InputError(
                f"Scenario {self.name!r}: counted owner(s) {bad} unknown; use {', '.join(OWNERS)}."
            )
        for cid, change in self.reaimed.items():
            extra = set(change) - set(EDIT_FIELDS)
            if extra:
                raise InputError(
                    f"Scenario {self.name!r}: re-aiming {cid!r} sets {sorted(extra)}; only "
                    f"{', '.join(EDIT_FIELDS)} can change."
                )
        for i, row in enumerate(self.added):
            missing = [k for k in ("camera_id", "lon", "lat") if row.get(k) is None]
            extra = set(row) - set(_ADDED_FIELDS)
            if missing or extra:
                raise InputError(
                    f"Scenario {self.name!r}: added camera {i + 1} "
                    + (f"lacks {missing}" if missing else f"has unknown field(s) {sorted(extra)}")
                    + f"; give {', '.join(_ADDED_FIELDS)}."
                )

    # ------------------------------------------------------------------ schema
    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema version 1)."""
        return {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "description": self.description,
            "disabled": list(self.disabled),
            "repaired": list(self.repaired),
            "added": [_plain(dict(a)) for a in self.added],
            "reaimed": {k: _plain(dict(v)) for k, v in self.reaimed.items()},
            "counted_owners": None if self.counted_owners is None else list(self.counted_owners),
            "config": _plain(dict(self.config)),
            "inputs": dict(self.inputs),
            "sources": dict(self.sources),
            "created": self.created,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], source: str = "scenario") -> ScenarioSpec:
        """Parse the JSON form; InputError naming ``source`` and the field when it is wrong."""
        if not isinstance(doc, Mapping):
            raise InputError(f"{source}: a scenario is a JSON object.")
        if doc.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise InputError(
                f"{source}: scenario schema {doc.get('schema')!r}; this version reads schema "
                f"{SCHEMA_VERSION}: recreate the scenario."
            )
        known = {"schema", *cls.__dataclass_fields__}
        extra = sorted(set(doc) - known)
        if extra:
            raise InputError(f"{source}: unknown field(s) {extra}; allowed: {sorted(known)}.")
        lists = ("disabled", "repaired")
        for k in lists:
            if not isinstance(doc.get(k, []), list):
                raise InputError(f"{source}: '{k}' must be a list of camera ids.")
        owners = doc.get("counted_owners")
        return cls(
            name=str(doc.get("name", "")),
            description=str(doc.get("description", "")),
            disabled=tuple(str(c) for c in doc.get("disabled", [])),
            repaired=tuple(str(c) for c in doc.get("repaired", [])),
            added=tuple(dict(a) for a in doc.get("added", [])),
            reaimed={str(k): dict(v) for k, v in dict(doc.get("reaimed", {})).items()},
            counted_owners=None if owners is None else tuple(str(o) for o in owners),
            config=dict(doc.get("config", {})),
            inputs={str(k): str(v) for k, v in dict(doc.get("inputs", {})).items()},
            sources={str(k): str(v) for k, v in dict(doc.get("sources", {})).items()},
            created=str(doc.get("created", "")),
        )

    # ------------------------------------------------------------------ to the engine
    def to_whatif(self, cameras: gpd.GeoDataFrame) -> Scenario:
        """The what-if scenario on the baseline ``cameras`` (canonical, EPSG:4326)."""
        disabled = list(self.disabled)
        if self.counted_owners is not None:
            out = ~np.isin(owners_of(cameras).astype(str), self.counted_owners)
            ids = cameras["camera_id"].astype(str).to_numpy()[out]
            disabled += [i for i in ids if i not in set(disabled) and i not in self.repaired]
        added = None
        if self.added:
            rows = [dict(a) for a in self.added]
            added = gpd.GeoDataFrame(
                [{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows],
                geometry=gpd.points_from_xy(
                    [float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows]
                ),
                crs="EPSG:4326",
            )
            for col in ("fov_deg", "range_m", "azimuth_deg"):
                if col in added.columns:
                    added[col] = added[col].astype(float)
            if "status" not in added.columns:
                added["status"] = "online"
            if "type" not in added.columns:
                added["type"] = "bullet"
        reaimed = {k: {f: (np.nan if v is None else float(v)) for f, v in c.items()}
                   for k, c in self.reaimed.items()}  # fmt: skip
        return Scenario(self.name, tuple(disabled), added, reaimed, tuple(self.repaired))


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and v != v:
            v = None
        out[k] = v
    return out
