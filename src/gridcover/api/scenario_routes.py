"""Named scenarios over HTTP: create, list, get, delete, compare (same JSON as the CLI's).

Scenarios live in the data store as the layer ``scenarios`` (one row per scenario: ``name``,
``spec`` = the scenario's JSON, the added cameras as geometry), written through the
``Store`` protocol; creating and deleting are writes (admin or planner key, as every
write). ``GET /scenarios/{a}/compare?with=b`` compares A with B, or the baseline with A
when ``with`` is left out, with the core's ``compare_scenarios`` (the CLI's workflow).
Its changed cells (``coverage.scenarios.changes``) are served by bbox and zoom, folded into
coarser H3 cells like every cell layer of the web app (``.../compare/cells``), and whole
as a GeoJSON download (``.../compare/cells.geojson``). The last comparisons are kept while
the scenarios, inputs and parameters stay the same.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import Field

from gridcover.api.analysis_models import AddedCamera, CoverageParams, Reaim, _Strict
from gridcover.api.analysis_routes import check_cell_budget
from gridcover.api.deps import get_settings, get_store
from gridcover.api.jobs import plans as an
from gridcover.api.openapi import responses_for
from gridcover.api.store import LayerMeta, Store
from gridcover.api.webapp.zoom import MAX_SHAPES, LayerCells, aggregate, zoom_bbox
from gridcover.coverage.scenarios import (
    CHANGES,
    CellChanges,
    ScenarioSpec,
    compare_scenarios,
    versions,
)
from gridcover.coverage.scenarios.compare import Comparison
from gridcover.coverage.whatif import apply_scenario
from gridcover.errors import Conflict, NotFound
from gridcover.settings import Settings

__all__ = ["StoreScenarios", "scenario_router"]

LAYER = "scenarios"
Owner = Literal["public_security", "community", "social", "other"]


class ScenarioRequest(_Strict):
    """A named scenario on the stored cameras (fields as in the CLI's scenario JSON)."""

    name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=2000)
    config: CoverageParams = Field(default_factory=lambda: CoverageParams.model_validate({}))
    disabled: list[str] = Field(default_factory=list, max_length=10_000)
    repaired: list[str] = Field(default_factory=list, max_length=10_000)
    added: list[AddedCamera] = Field(default_factory=list, max_length=10_000)
    reaimed: dict[str, Reaim] = Field(default_factory=dict)
    counted_owners: list[Owner] | None = None
    replace: bool = False


class StoreScenarios:
    """The ``ScenarioStore`` of the API: the ``scenarios`` layer of a data store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _table(self) -> gpd.GeoDataFrame:
        if not self.store.has_layer(LAYER):
            return gpd.GeoDataFrame({"name": [], "spec": []}, geometry=[], crs="EPSG:4326")
        return self.store.read_layer(LAYER)

    def names(self) -> list[str]:
        return sorted(str(n) for n in self._table()["name"])

    def get(self, name: str) -> ScenarioSpec:
        t = self._table()
        row = t[t["name"].astype(str) == name]
        if row.empty:
            raise NotFound(f"no scenario {name!r}; GET /scenarios lists them")
        return ScenarioSpec.from_dict(json.loads(row["spec"].iloc[0]), source=f"scenario {name}")

    def save(self, spec: ScenarioSpec, *, replace: bool = False) -> None:
        t = self._table()
        there = t["name"].astype(str) == spec.name
        if there.any() and not replace:
            raise Conflict(f"scenario {spec.name!r} exists; DELETE it first or send replace: true")
        pts = [shapely.Point(float(a["lon"]), float(a["lat"])) for a in spec.added]
        row = gpd.GeoDataFrame(
            {"name": [spec.name], "spec": [spec.to_json()], "created": [spec.created]},
            geometry=[shapely.multipoints(pts) if pts else None],
            crs="EPSG:4326",
        )
        parts = [row] if t.empty else [t[~there], row]
        self._write(gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326"))

    def delete(self, name: str) -> None:
        t = self._table()
        there = t["name"].astype(str) == name
        if not there.any():
            raise NotFound(f"no scenario {name!r}; nothing deleted")
        self._write(t[~there].reset_index(drop=True))

    def _write(self, gdf: gpd.GeoDataFrame) -> None:
        meta = LayerMeta(kind=LAYER, title="Scenarios", id_field="name",
                         description="named what-if scenarios (JSON in 'spec')")  # fmt: skip
        self.store.replace_layer(LAYER, gdf, meta)


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WithQuery = Annotated[
    str | None, Query(alias="with", description="scenario B (default: baseline vs A)")
]


def scenario_router(cache: an.BaselineCache) -> APIRouter:
    """Routes /scenarios (create, list), /scenarios/{name} (get, delete), .../compare."""
    router = APIRouter(tags=["Scenarios"])

    def baseline(store: Store, config: dict[str, Any]) -> Any:
        key = cache.key(store, an.analysis_config(config))
        result = cache.get(key)
        if result is None:
            result = an.compute_coverage(store, config)
            cache.put(key, result)
        return result

    @router.post(
        "/scenarios",
        status_code=201,
        responses=responses_for(None, 400, 409),
        summary="Create a named scenario",
    )
    def create(body: ScenarioRequest, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
        check_cell_budget(store, body.config.res, settings.max_cells)
        layers = an.read_inputs(store, ("grids", "cameras"))
        config = body.config.model_dump(exclude={"cell_geometry"})
        config["weights"] = None
        spec = ScenarioSpec(
            name=body.name,
            description=body.description,
            disabled=tuple(body.disabled),
            repaired=tuple(body.repaired),
            added=tuple(a.model_dump(exclude_none=True) for a in body.added),
            reaimed={k: r.model_dump(exclude_unset=True) for k, r in body.reaimed.items()},
            counted_owners=None if body.counted_owners is None else tuple(body.counted_owners),
            config=config,
            inputs=versions(layers),
            sources={k: "store" for k, v in layers.items() if v is not None},
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        cams = layers["cameras"]
        assert cams is not None  # read_inputs requires it
        apply_scenario(cams, spec.to_whatif(cams))  # unknown ids: 400 with the ids named
        StoreScenarios(store).save(spec, replace=body.replace)
        return spec.to_dict()

    @router.get("/scenarios", responses=responses_for(None, 400), summary="Named scenarios")
    def list_(store: StoreDep) -> dict[str, Any]:
        s = StoreScenarios(store)
        return {"scenarios": [s.get(n).to_dict() for n in s.names()]}

    @router.get(
        "/scenarios/{name}", responses=responses_for(None, 400, 404), summary="One scenario"
    )
    def get(name: str, store: StoreDep) -> dict[str, Any]:
        return StoreScenarios(store).get(name).to_dict()

    @router.delete(
        "/scenarios/{name}",
        status_code=204,
        responses=responses_for(None, 400, 404),
        summary="Delete a scenario",
    )
    def delete(name: str, store: StoreDep) -> Response:
        StoreScenarios(store).delete(name)
        return Response(status_code=204)

    comparisons: dict[tuple[Any, ...], Comparison] = {}
    lock = threading.Lock()

    def comparison(name: str, with_: str | None, store: Store, settings: Settings) -> Comparison:
        s = StoreScenarios(store)
        a = s.get(name)
        b = None if with_ in (None, "baseline") else s.get(str(with_))
        first, second = (None, a) if with_ is None else (a, b)
        config = dict(a.config)
        check_cell_budget(store, int(config["res"]), settings.max_cells)
        layers = an.read_inputs(store, ("grids", "cameras"))
        base_key = cache.key(store, an.analysis_config(config))
        key = (base_key, *(x.to_json() if x else None for x in (first, second)))
        with lock:
            hit = comparisons.get(key)
        if hit is None:
            hit = compare_scenarios(
                baseline(store, config), first, second, inputs=versions(layers), config=config
            )
            with lock:
                comparisons.clear()  # the last comparison only: its results are large
                comparisons[key] = hit
        return hit

    @router.get(
        "/scenarios/{name}/compare",
        responses=responses_for(None, 400, 404),
        summary="Compare A with B (or baseline with A)",
    )
    def compare(
        name: str, store: StoreDep, settings: SettingsDep, with_: WithQuery = None
    ) -> dict[str, Any]:
        return comparison(name, with_, store, settings).to_dict()

    @router.get(
        "/scenarios/{name}/compare/cells",
        responses=responses_for(None, 400, 404),
        summary="Changed cells of a comparison in a bbox, folded into H3 cells for the zoom",
        description=(
            "The cells whose covered flag, counted cameras or detail level differ between A "
            "and B (or baseline and A), in bbox (CRS84), folded into coarser H3 cells sized "
            "for the web map zoom until at most max remain. Each hexagon: n (changed cells), "
            f"and per kind ({', '.join(CHANGES)}) how many of them, cameras_a, cameras_b."
        ),
    )
    async def compare_cells(
        name: str,
        store: StoreDep,
        settings: SettingsDep,
        bbox: Annotated[str, Query(description="minLon,minLat,maxLon,maxLat (CRS84)")],
        zoom: Annotated[float, Query(ge=0, le=24, description="web map zoom level")],
        with_: WithQuery = None,
        max_shapes: Annotated[
            int, Query(alias="max", ge=10, le=MAX_SHAPES, description="most shapes")
        ] = MAX_SHAPES,
    ) -> JSONResponse:
        box = zoom_bbox(bbox)

        def work() -> dict[str, Any]:
            comp = comparison(name, with_, store, settings)
            doc = aggregate(changes_layer(comp.changes), box, zoom, max_shapes)
            return {**doc, "gridcover:a": comp.a, "gridcover:b": comp.b}

        return JSONResponse(await run_in_threadpool(work), media_type="application/geo+json")

    @router.get(
        "/scenarios/{name}/compare/cells.geojson",
        responses=responses_for(None, 400, 404),
        summary="Every changed cell of a comparison as a GeoJSON download (hexagons)",
    )
    def compare_cells_export(
        name: str, store: StoreDep, settings: SettingsDep, with_: WithQuery = None
    ) -> Response:
        comp = comparison(name, with_, store, settings)
        body = comp.changed_cells.to_json(drop_id=True, ensure_ascii=False)
        fname = f"compare_{comp.a}_{comp.b}_cells.geojson".encode("ascii", "replace").decode()
        return Response(
            body,
            media_type="application/geo+json",
            headers={"Content-Disposition": f'attachment; filename="{fname}"'},
        )

    return router


def changes_layer(ch: CellChanges) -> LayerCells:
    """The changed cells as a zoom layer: one value per kind (1 where the cell changed so),
    and the counted cameras in A and B."""
    values = {k: (ch.code == i + 1).astype(float) for i, k in enumerate(CHANGES)}
    values["cameras_a"] = ch.cameras_a.astype(float)
    values["cameras_b"] = ch.cameras_b.astype(float)
    stamp = ("changes", len(ch))
    return LayerCells("cells", ch.res, ch.cells, ch.lon, ch.lat, values, stamp, time.monotonic())
