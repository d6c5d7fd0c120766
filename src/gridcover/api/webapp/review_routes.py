"""``/app/qa-reviews``: grid chiefs mark grid QA issues confirmed or disputed, with a comment.

Planners and admins may review any issue; a grid chief only issues that touch his grid (his
grid's polygon, looked up like the feature-editing scope); readers none (the auth middleware
refuses their writes). Each verdict is stored with its audit row in one transaction
(``api.store.reviews``) and read back by everyone, so planners see the chiefs' verdicts.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gridcover.api.auth import get_actor
from gridcover.api.deps import get_store
from gridcover.api.grid_scope import Scope
from gridcover.api.openapi import responses_for
from gridcover.api.store import ItemsQuery, Store
from gridcover.api.store.edits import Actor
from gridcover.api.store.reviews import Review, ReviewStore, Verdict
from gridcover.api.webapp.routes import object_response
from gridcover.errors import InputError, NotFound, PermissionDenied

ISSUES = "grid_issues"
StoreDep = Annotated[Store, Depends(get_store)]


class ReviewBody(BaseModel):
    """A verdict on one issue of the current grid check."""

    model_config = ConfigDict(extra="forbid")
    issue_id: str = Field(min_length=1, max_length=64, description="feature id in grid_issues")
    verdict: Verdict
    comment: str = Field("", max_length=2000)


def _run_id(store: Store) -> str:
    if not store.has_layer(ISSUES):
        raise NotFound(
            "there are no grid QA issues yet: run the grid check first (POST /analysis/grid-check)"
        )
    return str(store.collection(ISSUES).params.get("run_id", ""))


def _doc(r: Review) -> dict[str, Any]:
    return {
        "issue_id": r.issue_id, "verdict": r.verdict, "comment": r.comment, "check": r.check_name,
        "grid": r.grid, "actor": r.actor, "role": r.role, "at": r.at, "run_id": r.run_id,
    }  # fmt: skip


def add_review(store: Store, actor: Actor, body: ReviewBody) -> Review:
    """Check the issue and the actor's scope, then store the verdict (audited)."""
    run_id = _run_id(store)
    page = store.feature(ISSUES, body.issue_id)
    geom, props = page.geometries[0], page.properties[0]
    if body.verdict == "disputed" and not body.comment.strip():
        raise InputError(
            f"issue {body.issue_id}: a dispute needs a comment saying what is wrong with the "
            "finding (e.g. 'the overlap is a shared square, agreed with grid X')"
        )
    scope = Scope(store)
    grid = scope.grid_of(geom)
    if actor.role == "grid_chief":
        code = actor.grid_code or ""
        area = scope.area(code)
        if area is None or geom is None or not area.intersects(geom):
            raise PermissionDenied(
                f"issue {body.issue_id} ({props.get('check')}, grid {props.get('code')!r}) "
                f"does not touch your grid {code!r}; only that grid's chief or a planner may "
                "review it"
            )
        grid = code
    reviews = ReviewStore(store.sql_target())
    check = None if props.get("check") is None else str(props.get("check"))
    return reviews.add(actor, run_id, body.issue_id, body.verdict, body.comment, check, grid)


def issues_touching(store: Store, code: str) -> list[str]:
    """Ids of the current grid QA issues whose shape touches grid ``code`` (its polygons)."""
    area = Scope(store).area(code)
    if area is None:
        raise NotFound(f"grid {code!r} is not in the stored grids layer; check the code")
    if not store.has_layer(ISSUES):
        return []
    page = store.items(ISSUES, ItemsQuery(bbox=tuple(area.bounds), limit=10_000))
    geoms = np.asarray(page.geometries, dtype=object)
    hit = shapely.intersects(geoms, area) & ~shapely.is_missing(geoms)
    return [str(i) for i, h in zip(page.ids, hit, strict=True) if h]


def reviews_router() -> APIRouter:
    """``/app/qa-reviews`` (GET, POST) and ``/app/qa-issues``."""
    router = APIRouter(tags=["Web app"])

    @router.get(
        "/app/qa-issues",
        summary="Ids of the current grid QA issues that touch a grid (a chief's list)",
        responses={200: object_response("grid and issue ids"), **responses_for(None, 400, 404)},
    )
    async def touching(
        store: StoreDep,
        grid: Annotated[str, Query(min_length=1, max_length=64, description="grid code")],
    ) -> JSONResponse:
        ids = await run_in_threadpool(issues_touching, store, grid)
        return JSONResponse({"grid": grid, "issues": ids})

    @router.get(
        "/app/qa-reviews",
        summary="Current verdicts on the issues of the latest grid check",
        responses={
            200: object_response("run_id and {issue id: verdict}"),
            **responses_for(None, 400),
        },
    )
    async def list_reviews(store: StoreDep) -> JSONResponse:
        def work() -> dict[str, Any]:
            if not store.has_layer(ISSUES):
                return {"run_id": None, "reviews": {}}
            run_id = _run_id(store)
            latest = ReviewStore(store.sql_target()).latest(run_id)
            return {"run_id": run_id, "reviews": {k: _doc(v) for k, v in latest.items()}}

        return JSONResponse(await run_in_threadpool(work))

    @router.post(
        "/app/qa-reviews",
        status_code=201,
        summary="Mark a grid QA issue confirmed or disputed, with a comment (audited)",
        responses={
            201: object_response("the stored verdict"),
            **responses_for(None, 400, 403, 404),
        },
    )
    async def post_review(body: ReviewBody, request: Request, store: StoreDep) -> JSONResponse:
        actor = get_actor(request)
        review = await run_in_threadpool(add_review, store, actor, body)
        return JSONResponse(_doc(review), status_code=201)

    return router
