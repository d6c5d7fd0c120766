"""Blind-spot work units over HTTP: ``POST /analysis/work-units`` computes them on the
stored layers and publishes the collections ``work_units`` (unit outlines with their
suggested fix) and ``proposed_cameras`` (cameras to repair or add), like any result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from gridcover.api.analysis_models import CoverageParams, _Strict
from gridcover.api.analysis_routes import check_cell_budget
from gridcover.api.deps import get_settings, get_store
from gridcover.api.jobs import plans as an
from gridcover.api.openapi import responses_for
from gridcover.api.store import Store
from gridcover.coverage.units import UnitConfig, work_units
from gridcover.settings import Settings

__all__ = ["units_router"]


class UnitsRequest(_Strict):
    """Unit cap (metres, m²), how many units get a suggested fix, and (3D runs) which
    catalogue camera models those fixes choose from."""

    config: CoverageParams = Field(default_factory=lambda: CoverageParams.model_validate({}))
    max_extent_m: float = Field(100.0, gt=0, le=10_000)
    max_area_m2: float = Field(3000.0, gt=0, le=10_000_000)
    fixes_for: int = Field(200, ge=0, le=5000)
    models: list[str] = Field(
        [], max_length=20, description="3d: packaged catalogue models the fixes use (all: [])"
    )


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def units_router(cache: an.BaselineCache) -> APIRouter:
    router = APIRouter(tags=["Analysis"])

    @router.post(
        "/analysis/work-units",
        responses=responses_for(None, 400),
        summary="Blind-spot work units with suggested fixes",
    )
    def units(body: UnitsRequest, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
        check_cell_budget(store, body.config.res, settings.max_cells)
        params = body.config.model_dump()
        key = cache.key(store, an.analysis_config(params))
        result = cache.get(key)
        if result is None:
            result = an.compute_coverage(store, params)
            cache.put(key, result)
        layers = an.read_inputs(store, ("grids", "cameras"))
        cfg = UnitConfig(max_extent_m=body.max_extent_m, max_area_m2=body.max_area_m2,
                         fixes_for=body.fixes_for, models=tuple(body.models))  # fmt: skip
        u = work_units(result, roads=layers["roads"], sites=layers["sites"], config=cfg)
        t = u.table
        summary = {
            "units": len(t),
            "area_m2": float(t["area_m2"].sum()),
            "with_fix": int(t["fix"].notna().sum()),
            "closed_by_fix": int(t["closes"].sum()),
            "repairs": int((t["fix"] == "repair").sum()),
            "detail_levels": "required_level" in t.columns,  # 3D: cells below required level
            "new_cameras": int((u.proposals.get("action") == "new").sum())
            if len(u.proposals)
            else 0,
        }
        ids = an.write_results(
            store,
            {"work_units": t, "proposed_cameras": u.proposals},
            "work-units",
            body.model_dump(),
            summary,
        )
        return {"summary": an.json_values(summary), "collections": list(ids)}

    return router
