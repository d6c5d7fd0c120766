"""Request and response models of the analysis routes (pydantic): job parameters with the
core's defaults, what-if scenarios, job documents. Units: metres, degrees, pixels."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridcover.coverage.analysis import DEFAULT_VISIBILITY
from gridcover.coverage.patrol.plan import PatrolConfig
from gridcover.coverage.siting.plan import SitingConfig

CameraType = Literal["bullet", "dome", "ptz", "other"]
CameraStatus = Literal["online", "offline", "unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoverageParams(_Strict):
    """Coverage run: H3 resolution, occlusion by buildings, which camera statuses count."""

    res: int = Field(12, ge=9, le=13, description="H3 resolution (12: about 0.03 ha per cell)")
    occlusion: bool = Field(True, description="cut camera views by buildings")
    include_offline: bool = Field(False, description="offline cameras count as covering")
    unknown_online: bool = Field(True, description="cameras of unknown status count")
    cell_geometry: Literal["polygon", "point"] = "polygon"
    visibility: Literal["2d", "3d"] = Field(
        DEFAULT_VISIBILITY,  # type: ignore[arg-type]
        description="3d: heights, tilt, resolution -> detail levels (docs/VIEWS.md)",
    )
    target_height_m: float = Field(1.5, ge=0, lt=100, description="3d: target height, m")


class GridCheckParams(_Strict):
    """Grid QA thresholds, in metres and square metres."""

    sliver_max_area_m2: float = Field(100.0, ge=0)
    sliver_thinness: float = Field(0.05, gt=0, le=1)
    gap_min_area_m2: float = Field(1.0, ge=0)
    tolerance_m: float = Field(1.0, ge=0)
    ignore_below_m2: float = Field(0.01, ge=0)


# Defaults come from the core's job configs: the CLI and the API share them.
_PATROL = PatrolConfig()
_SITING = SitingConfig()


class PatrolParams(_Strict):
    """Patrol zones: cell size, travel mode, balance target, area and boundary grid levels."""

    res: int = Field(_PATROL.res, ge=9, le=13)
    mode: Literal["walk", "bike", "car"] = _PATROL.mode  # type: ignore[assignment]
    target_ratio: float = Field(
        _PATROL.target_ratio, ge=1.0, le=3.0, description="max/min workload wanted"
    )
    area_level: int | None = Field(None, ge=1, le=3, description="grid level of the area")
    boundary_level: int | None = Field(None, ge=1, le=3, description="zones stay inside these")
    use_roads: bool = True
    use_priority: bool = True
    min_compactness: float = Field(
        _PATROL.min_compactness, ge=0.0, lt=0.9, description="Polsby-Popper floor (0 = off)"
    )


class SitingParams(_Strict):
    """Camera siting: how many new cameras (or a ``budget``), candidate sites, solver,
    visibility model."""

    k: int = Field(_SITING.k, ge=1, le=500, description="new cameras to choose")
    res: int = Field(_SITING.res, ge=9, le=13)
    method: Literal["auto", "greedy", "exact"] = _SITING.method  # type: ignore[assignment]
    time_limit: float = Field(
        _SITING.time_limit, gt=0, le=600, description="seconds for the exact solver"
    )
    intersections: bool = _SITING.intersections
    every_m: float | None = Field(None, ge=5, le=5000, description="sites along roads")
    azimuths: int = Field(_SITING.azimuths, ge=1, le=36)
    dome: bool = _SITING.dome
    backup: int = Field(
        _SITING.backup, ge=1, le=3, description="coverage level wanted at key sites"
    )
    visibility: Literal["2d", "3d"] = _SITING.visibility  # type: ignore[assignment]
    target_height_m: float = Field(_SITING.target_height_m, ge=0, lt=100)
    building_height_m: float = Field(_SITING.building_height_m, gt=0, le=1000)
    models: list[str] = Field([], max_length=20, description="3d: catalogue models (all: [])")
    budget: float | None = Field(
        None, gt=0, description="total price limit (packaged catalogue's currency): budget "
        "siting with mixed models; k, when given, also holds"
    )  # fmt: skip
    allow_motorway: bool = Field(False, description="budget: poles on motorways / overpasses")


class AddedCamera(_Strict):
    """A camera added by a scenario (longitude/latitude WGS 84, degrees, metres)."""

    camera_id: str = Field(min_length=1, max_length=64)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    type: CameraType = "dome"
    status: CameraStatus = "online"
    azimuth_deg: float | None = Field(None, ge=0, le=360)
    fov_deg: float | None = Field(None, gt=0, le=360)
    range_m: float | None = Field(None, gt=0, le=1000)
    height_m: float | None = Field(None, ge=0, le=200)


class Reaim(_Strict):
    """New aim of an existing camera (empty: type default); for the 3D model also its
    mounting height (metres above ground), tilt (degrees below horizontal) and horizontal
    resolution (pixels)."""

    azimuth_deg: float | None = Field(None, ge=0, le=360)
    fov_deg: float | None = Field(None, gt=0, le=360)
    range_m: float | None = Field(None, gt=0, le=1000)
    height_m: float | None = Field(None, ge=0, le=200)
    tilt_deg: float | None = Field(None, ge=-90, le=90)
    resolution_px: int | None = Field(None, gt=0, le=20_000)


class WhatIfRequest(_Strict):
    """A scenario on the stored cameras, evaluated against the baseline coverage."""

    name: str = Field("scenario", max_length=100)
    config: CoverageParams = Field(default_factory=lambda: CoverageParams.model_validate({}))
    disabled: list[str] = Field(default_factory=list, max_length=10_000)
    added: list[AddedCamera] = Field(default_factory=list, max_length=10_000)
    reaimed: dict[str, Reaim] = Field(default_factory=dict)


class JobDoc(BaseModel):
    """Status of a job (after OGC API - Processes statusInfo)."""

    jobID: str
    processID: str
    status: Literal["accepted", "running", "successful", "failed"]
    progress: int = Field(ge=0, le=100)
    message: str
    created: str
    started: str | None = None
    finished: str | None = None
    parameters: dict[str, Any]
    collections: list[str] = Field(default_factory=list)
    summary: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    links: list[dict[str, str]]


class JobList(BaseModel):
    jobs: list[JobDoc]
    links: list[dict[str, str]]


class WhatIfResult(BaseModel):
    """KPI figures of baseline and scenario, their differences, changed grids."""

    name: str
    views_recomputed: int
    baseline: dict[str, Any]
    scenario: dict[str, Any]
    deltas: dict[str, Any]
    grid_deltas: list[dict[str, Any]]
