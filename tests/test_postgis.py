"""The PostGIS store: the Store protocol, atomic replace, and row-level security on its own.

Runs against a throwaway PostgreSQL 15 + PostGIS cluster (``postgis_server``). The RLS tests
call the store (and plain SQL) directly, with no API check in front: the database alone
must keep a grid chief inside his grid. Which camera lies in which district is computed
independently with plain shapely on the source layers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import shapely

import api_write_data as w
from api_server import check_bbox_pages, helsinki_cameras
from gridcover.api.store import ItemsQuery, Store
from gridcover.api.store.audit import AuditedStore, ensure_audit_schema, layer_digest, read_entries
from gridcover.api.store.edits import Actor, FeatureRow, becomes
from gridcover.api.store.postgis.store import PostGISStore
from gridcover.api.store.publish import store_layer
from gridcover.api.store.sql_target import SqlTarget
from gridcover.errors import Conflict, NotFound, PermissionDenied

pytestmark = pytest.mark.postgis
CHIEF = Actor("chief of D8", "grid_chief", key_id="k8", grid_code="D8")


@pytest.fixture
def url() -> str:
    from postgis_server import fresh_database_url

    return fresh_database_url()


@pytest.fixture
def store(url: str) -> Iterator[PostGISStore]:
    s = PostGISStore(url)
    yield s
    s.close()


@pytest.fixture
def chicago(store: PostGISStore) -> PostGISStore:
    store_layer(store, "grids", w.grids())
    store_layer(store, "cameras", w.cameras())
    return store


def _row(store: PostGISStore, cid: str) -> FeatureRow:
    page = store.feature("cameras", cid)
    return FeatureRow(page.geometries[0], page.properties[0])


def test_is_a_store_and_round_trips(store: PostGISStore) -> None:
    assert isinstance(store, Store) and store.is_new()
    cams = helsinki_cameras()
    store_layer(store, "cameras", cams, params={"source": "helsinki"})
    got = store.read_layer("cameras")
    assert list(got["camera_id"]) == list(cams["camera_id"])
    assert shapely.equals_exact(got.geometry.values, cams.geometry.values, tolerance=0).all()
    assert store.layer_meta("cameras").params == {"source": "helsinki"}
    page = store.items("cameras", ItemsQuery(limit=5, offset=3))
    assert page.ids == list(cams["camera_id"][3:8]) and page.number_matched == len(cams)
    assert store.feature("cameras", cams["camera_id"][7]).ids == [cams["camera_id"][7]]
    with pytest.raises(NotFound):
        store.feature("cameras", "no-such-camera")


def test_grid_levels_and_property_filters(chicago: PostGISStore) -> None:
    g = w.grids()
    assert [c.id for c in chicago.collections()] == ["grids_level1", "grids_level2", "cameras"]
    lv2 = chicago.read_collection("grids_level2")
    assert len(lv2) == int((g["level"] == 2).sum()) and set(lv2["level"]) == {2}
    info = chicago.collection("grids_level1")
    assert info.bbox == pytest.approx(tuple(g[g["level"] == 1].total_bounds))
    page = chicago.items("grids_level2", ItemsQuery(filters={"parent_code": "D8"}, limit=100))
    assert sorted(page.ids) == sorted(g[g["parent_code"] == "D8"]["code"])


@pytest.mark.parametrize("limit", [1, 13, 1000])
def test_bbox_pages_are_exact_and_complete(store: PostGISStore, limit: int) -> None:
    check_bbox_pages(store, limit)


def test_replace_is_atomic_when_the_commit_hook_fails(chicago: PostGISStore) -> None:
    before = layer_digest(chicago.read_layer("cameras"))

    def boom(conn: object) -> None:
        raise RuntimeError("audit insert failed")

    with pytest.raises(RuntimeError):
        store_half = w.cameras().head(10)
        chicago.replace_layer("cameras", store_half, chicago.layer_meta("cameras"), on_commit=boom)
    assert layer_digest(chicago.read_layer("cameras")) == before
    assert chicago.collection("cameras").count == len(w.cameras())


def test_readers_see_the_old_or_the_new_layer_never_a_mix(chicago: PostGISStore) -> None:
    full, half = w.cameras(), w.cameras().head(80)
    meta = chicago.layer_meta("cameras")
    seen: set[tuple[int, int]] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            page = chicago.items("cameras", ItemsQuery(limit=1000))
            seen.add((page.number_matched, len(page.ids)))

    threads = [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(6):
        chicago.replace_layer("cameras", half if i % 2 == 0 else full, meta)
    stop.set()
    for t in threads:
        t.join()
    assert seen <= {(160, 160), (80, 80)} and seen


def test_rls_keeps_a_grid_chief_in_his_grid_without_the_api(chicago: PostGISStore) -> None:
    own, p = w.camera_inside("D8")
    other, q = w.camera_inside("D9")
    base = layer_digest(chicago.read_layer("cameras"))
    row = _row(chicago, other)
    with pytest.raises(PermissionDenied, match="row-level security"):
        chicago.edit_feature("cameras", other, becomes(row), mode="replace", actor=CHIEF)
    with pytest.raises(PermissionDenied, match="row-level security"):
        chicago.edit_feature("cameras", other, becomes(None), mode="delete", actor=CHIEF)
    moved = FeatureRow(q, _row(chicago, own).properties)
    with pytest.raises(PermissionDenied, match="violates row-level security"):
        chicago.edit_feature("cameras", own, becomes(moved), mode="replace", actor=CHIEF)
    new = FeatureRow(q, {**row.properties, "camera_id": "chief-outside"})
    with pytest.raises(PermissionDenied, match="violates row-level security"):
        chicago.edit_feature("cameras", "chief-outside", becomes(new), mode="create", actor=CHIEF)
    with pytest.raises(PermissionDenied, match="permission denied"):
        chicago.edit_feature(
            "cameras", own, becomes(_row(chicago, own)), mode="replace", actor=Actor("r", "reader")
        )
    assert layer_digest(chicago.read_layer("cameras")) == base
    inside = FeatureRow(shapely.Point(p.x + 1e-4, p.y), {**_row(chicago, own).properties})
    before = chicago.edit_feature(
        "cameras", own, becomes(inside), mode="replace", actor=CHIEF
    ).before
    assert before is not None and before.geometry is not None and before.geometry.equals(p)
    assert _row(chicago, own).geometry.equals(inside.geometry)  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        chicago.edit_feature("cameras", own, becomes(inside), mode="create", actor=CHIEF)


def test_rls_on_grid_attributes_and_shapes(chicago: PostGISStore) -> None:
    g = w.grids()
    child = g[g["parent_code"] == "D8"]["code"].iloc[0]

    def grid_row(code: str) -> FeatureRow:
        col = "grids_level1" if code.startswith("D") else "grids_level2"
        page = chicago.feature(col, code)
        return FeatureRow(page.geometries[0], page.properties[0])

    for code in ("D8", child):
        r = grid_row(code)
        chicago.edit_feature(
            "grids",
            code,
            becomes(FeatureRow(r.geometry, {**r.properties, "name": "n"})),
            mode="replace",
            actor=CHIEF,
        )
        assert grid_row(code).properties["name"] == "n"
    r = grid_row("D9")
    with pytest.raises(PermissionDenied):
        chicago.edit_feature(
            "grids",
            "D9",
            becomes(FeatureRow(r.geometry, {**r.properties, "name": "x"})),
            mode="replace",
            actor=CHIEF,
        )
    r = grid_row("D8")
    assert r.geometry is not None
    bigger = r.geometry.buffer(0.01)
    with pytest.raises(PermissionDenied, match="not their shape"):
        chicago.edit_feature(
            "grids", "D8", becomes(FeatureRow(bigger, r.properties)), mode="replace", actor=CHIEF
        )
    with pytest.raises(PermissionDenied, match="not their shape"):
        chicago.edit_feature(
            "grids",
            "D8",
            becomes(FeatureRow(r.geometry, {**r.properties, "level": 2})),
            mode="replace",
            actor=CHIEF,
        )


def test_rls_filters_plain_sql_run_as_the_grid_chief_role(chicago: PostGISStore, url: str) -> None:
    cams = w.cameras()
    area = w.grids().set_index("code").geometry["D8"]
    n_inside = int(shapely.covers(area, cams.geometry.values).sum())
    with psycopg.connect(url) as conn:  # one transaction, rolled back at the end
        conn.execute("SET LOCAL ROLE gridcover_grid_chief")
        conn.execute("SELECT set_config('gridcover.grid_code', 'D8', true)")
        cur = conn.execute(
            'UPDATE gridcover.features SET props = props || \'{"owner": "x"}\' '
            "WHERE layer = 'cameras'"
        )
        assert cur.rowcount == n_inside  # every other row is invisible to the UPDATE
        cur = conn.execute("SELECT count(*) FROM gridcover.features WHERE layer = 'cameras'")
        assert cur.fetchone() == (len(cams),)  # but all rows stay readable
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "UPDATE gridcover.features SET geom = ST_Translate(geom, 0.5, 0) "
                "WHERE layer = 'cameras'"
            )
        conn.rollback()


def test_audit_log_is_append_only_and_written_with_the_edit(
    chicago: PostGISStore, url: str
) -> None:
    target = SqlTarget("postgres", url)
    ensure_audit_schema(target)
    audited = AuditedStore(chicago)
    store_layer(audited, "cameras", w.cameras().head(50))
    (entry,) = read_entries(target)
    assert (entry.action, entry.collection, entry.detail["rows"]) == (
        "replace_layer",
        "cameras",
        50,
    )
    assert entry.after_hash == layer_digest(chicago.read_layer("cameras"))
    with psycopg.connect(url, autocommit=True) as conn:
        for sql in (
            "UPDATE gridcover.audit_log SET actor = 'x'",
            "DELETE FROM gridcover.audit_log",
            "TRUNCATE gridcover.audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)
    own, p = w.camera_inside("D8")
    moved = FeatureRow(shapely.Point(p.x + 1e-4, p.y), _row(chicago, own).properties)

    def failing_audit(conn: object, before: object, after: object) -> None:
        raise RuntimeError("the audit insert failed")

    with pytest.raises(RuntimeError):
        chicago.edit_feature(
            "cameras", own, becomes(moved), mode="replace", actor=CHIEF, on_commit=failing_audit
        )
    assert _row(chicago, own).geometry.equals(p)  # type: ignore[union-attr]  # no audit row, no edit


def test_pages_stay_exact_after_deletes_and_creates(chicago: PostGISStore) -> None:
    ids = list(w.cameras()["camera_id"])
    planner = Actor("planner", "planner", key_id="kp")
    for cid in (ids[0], ids[70], ids[159]):
        chicago.edit_feature("cameras", cid, becomes(None), mode="delete", actor=planner)
    extra = FeatureRow(
        shapely.Point(-87.65, 41.85), {**_row(chicago, ids[1]).properties, "camera_id": "new-1"}
    )
    chicago.edit_feature("cameras", "new-1", becomes(extra), mode="create", actor=planner)
    expected = [c for c in ids if c not in (ids[0], ids[70], ids[159])] + ["new-1"]
    got: list[str] = []
    for offset in range(0, 200, 17):
        page = chicago.items("cameras", ItemsQuery(limit=17, offset=offset))
        assert page.number_matched == len(expected)
        got += page.ids
    assert got == expected
    info = chicago.collection("cameras")
    assert info.count == len(expected)
    kept = w.cameras()[w.cameras()["camera_id"].isin(expected)]
    x0, y0, x1, y1 = kept.total_bounds
    assert info.bbox == pytest.approx(
        (min(x0, -87.65), min(y0, 41.85), max(x1, -87.65), max(y1, 41.85))
    )


def _run_coverage(settings: object) -> tuple[dict, str]:
    import time

    from fastapi.testclient import TestClient

    from gridcover.api.app import create_app
    from gridcover.api.store import open_store
    from gridcover.api.store.keys import KeyStore
    from gridcover.api.store.sql_target import target_for

    key = KeyStore(target_for(settings)).add("p", "planner").token  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:  # type: ignore[arg-type]
        h = {"X-API-Key": key}
        job = client.post("/analysis/coverage", json={"res": 11}, headers=h).json()
        for _ in range(300):
            doc = client.get(f"/jobs/{job['jobID']}", headers=h).json()
            if doc["status"] in ("successful", "failed"):
                break
            time.sleep(0.2)
        assert doc["status"] == "successful", doc
    store = open_store(settings)  # type: ignore[arg-type]
    try:
        cells = store.read_layer("coverage_cells")
    finally:
        store.close()
    return doc["summary"], layer_digest(cells.sort_values("h3").reset_index(drop=True))


def test_the_whole_service_runs_on_postgis_with_the_same_answers(tmp_path: Path, url: str) -> None:
    from gridcover.settings import Settings

    pg = Settings(
        data_dir=tmp_path, database_url=url, rate_limit_per_minute=0, sample_analyses=False
    )
    gpkg = Settings(data_dir=tmp_path, rate_limit_per_minute=0, sample_analyses=False)
    pg_summary, pg_cells = _run_coverage(pg)
    gpkg_summary, gpkg_cells = _run_coverage(gpkg)
    assert pg_summary == gpkg_summary and pg_summary["cells"] > 0
    assert pg_cells == gpkg_cells
    entries = read_entries(SqlTarget("postgres", url), limit=100)
    assert {"coverage_cells", "cameras"} <= {e.collection for e in entries}
