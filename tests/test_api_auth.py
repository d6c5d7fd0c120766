"""Roles, keys and grid-chief scope over the HTTP API, on the GeoPackage and PostGIS stores.

Real Chicago districts (level 1) and beats (level 2) are the grids, the 160 speed cameras the
cameras. Which camera lies in which district is decided independently with plain shapely on
the source layers. Every refused write is checked to leave the stored layer unchanged (its
content digest), every accepted one to be in the audit log with the right hashes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient

import api_write_data as w
from gridcover.api.app import create_app
from gridcover.api.auth import RedactKeys, redact
from gridcover.api.store.audit import read_entries
from gridcover.api.store.sql_target import target_for
from gridcover.settings import Settings

CHIEF_GRID, OTHER_GRID = "D8", "D9"


@dataclass
class Env:
    settings: Settings
    client: TestClient
    keys: dict[str, str]

    def h(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def audit(self) -> list:
        return read_entries(target_for(self.settings), limit=1000)


@pytest.fixture(scope="module", params=w.BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    settings = w.settings_for(request.param, tmp_path_factory.mktemp(request.param))
    w.fill_store(settings)
    keys = {
        "admin": w.add_key(settings, "admin"),
        "planner": w.add_key(settings, "planner"),
        "reader": w.add_key(settings, "reader"),
        "chief": w.add_key(settings, "grid_chief", CHIEF_GRID, name="Chief of D8"),
    }
    with TestClient(create_app(settings)) as client:
        yield Env(settings, client, keys)


def _moved(p: shapely.Point, dx: float = 1e-4) -> dict:
    return {"type": "Point", "coordinates": [p.x + dx, p.y]}


def test_reads_closed_once_keys_exist_and_every_key_style(env: Env) -> None:
    r = env.client.get("/collections")
    assert r.status_code == 401 and "X-API-Key" in r.json()["description"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    for headers in (env.h("reader"), {"Authorization": "Bearer " + env.keys["reader"]}):
        r = env.client.get("/collections/cameras/items", headers=headers)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "private, no-store"
        assert r.json()["numberMatched"] == len(w.cameras())
    bad = env.keys["reader"][:-3] + "xyz"
    r = env.client.get("/collections", headers={"X-API-Key": bad})
    assert r.status_code == 401 and "not valid" in r.json()["description"]
    r = env.client.get("/collections", params={"api_key": env.keys["reader"]})
    assert r.status_code == 401 and "query string are disabled" in r.json()["description"]


def test_reader_and_anonymous_cannot_write(env: Env) -> None:
    cid, p = w.camera_inside(CHIEF_GRID)
    before = w.stored_digest(env.settings, "cameras")
    body = {"geometry": _moved(p)}
    r = env.client.patch(f"/collections/cameras/items/{cid}", json=body, headers=env.h("reader"))
    assert r.status_code == 403 and "may read but not change" in r.json()["description"]
    r = env.client.patch(f"/collections/cameras/items/{cid}", json=body)
    assert r.status_code == 401
    r = env.client.delete("/layers/cameras", headers=env.h("reader"))
    assert r.status_code == 403
    assert w.stored_digest(env.settings, "cameras") == before


def test_grid_chief_edits_his_camera_and_it_is_audited(env: Env) -> None:
    cid, p = w.camera_inside(CHIEF_GRID, 0)
    old = env.client.get(f"/collections/cameras/items/{cid}", headers=env.h("reader"))
    assert old.headers["etag"] == f'"{w.feature_sha(old.json())}"'
    r = env.client.patch(
        f"/collections/cameras/items/{cid}",
        json={"geometry": _moved(p), "properties": {"owner_name": "district 8"}},
        headers={**env.h("chief"), "X-Request-ID": "req-chief-1"},
    )
    assert r.status_code == 200, r.text
    got = env.client.get(f"/collections/cameras/items/{cid}", headers=env.h("reader")).json()
    assert got["geometry"]["coordinates"] == pytest.approx([p.x + 1e-4, p.y])
    assert got["properties"]["owner_name"] == "district 8"  # owner is a class (issue 12)
    entry = next(e for e in env.audit() if e.request_id == "req-chief-1")
    assert (entry.actor, entry.role, entry.action) == ("Chief of D8", "grid_chief", "patch")
    assert (entry.collection, entry.object_id) == ("cameras", cid)
    assert entry.before_hash == w.feature_sha(old.json())
    assert entry.after_hash == w.feature_sha(got) == r.headers["etag"].strip('"')
    assert entry.detail["changed"] == {
        "owner_name": [old.json()["properties"]["owner_name"], "district 8"]
    }
    moved = shapely.from_wkt(entry.detail["geometry"][1])
    assert moved.distance(shapely.Point(p.x + 1e-4, p.y)) < 1e-7
    beats = w.grids()[w.grids()["level"] == 2]
    beat = beats[shapely.covers(beats.geometry.values, shapely.Point(p.x + 1e-4, p.y))]
    assert entry.grid == beat["code"].iloc[0]  # the finest grid holding the camera


def test_grid_chief_refused_outside_his_grid_and_when_moving_out(env: Env) -> None:
    other, q = w.camera_inside(OTHER_GRID)
    own, _ = w.camera_inside(CHIEF_GRID, 1)
    before = w.stored_digest(env.settings, "cameras")
    n_audit = len(env.audit())
    r = env.client.patch(
        f"/collections/cameras/items/{other}",
        json={"properties": {"owner": "x"}},
        headers=env.h("chief"),
    )
    assert r.status_code == 403 and f"outside your grid '{CHIEF_GRID}'" in r.json()["description"]
    into_other = {"type": "Point", "coordinates": [q.x, q.y]}
    r = env.client.patch(
        f"/collections/cameras/items/{own}", json={"geometry": into_other}, headers=env.h("chief")
    )
    assert r.status_code == 403 and "cannot be moved into grid" in r.json()["description"]
    r = env.client.delete(f"/collections/cameras/items/{other}", headers=env.h("chief"))
    assert r.status_code == 403
    new = {
        "type": "Feature",
        "geometry": into_other,
        "properties": {"camera_id": "new-outside", "type": "dome", "status": "online"},
    }
    r = env.client.post("/collections/cameras/items", json=new, headers=env.h("chief"))
    assert r.status_code == 403
    r = env.client.put("/layers/cameras", files={"file": ("c.csv", b"x")}, headers=env.h("chief"))
    assert r.status_code == 403 and "grid chief may only" in r.json()["description"]
    assert w.stored_digest(env.settings, "cameras") == before
    assert len(env.audit()) == n_audit


def test_grid_chief_creates_and_deletes_in_his_grid(env: Env) -> None:
    _, p = w.camera_inside(CHIEF_GRID, 2)
    new = {
        "type": "Feature",
        "geometry": _moved(p, 2e-4),
        "properties": {
            "camera_id": "chief-new-1",
            "type": "dome",
            "status": "online",
            "azimuth_deg": 450,
        },
    }
    r = env.client.post("/collections/cameras/items", json=new, headers=env.h("chief"))
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/collections/cameras/items/chief-new-1")
    assert r.json()["properties"]["azimuth_deg"] == 90.0  # the foundation's rule: modulo 360
    r = env.client.post("/collections/cameras/items", json=new, headers=env.h("chief"))
    assert r.status_code == 409
    r = env.client.delete("/collections/cameras/items/chief-new-1", headers=env.h("chief"))
    assert r.status_code == 204
    r = env.client.get("/collections/cameras/items/chief-new-1", headers=env.h("reader"))
    assert r.status_code == 404
    actions = [e.action for e in env.audit() if e.object_id == "chief-new-1"]
    assert actions == ["delete", "create"]


def test_grid_chief_edits_attributes_of_his_grids_only(env: Env) -> None:
    g = w.grids()
    child = g[g["parent_code"] == CHIEF_GRID]["code"].iloc[0]
    for collection, code in (("grids_level1", CHIEF_GRID), ("grids_level2", child)):
        r = env.client.patch(
            f"/collections/{collection}/items/{code}",
            json={"properties": {"name": "renamed"}},
            headers=env.h("chief"),
        )
        assert r.status_code == 200, r.text
    r = env.client.patch(
        f"/collections/grids_level1/items/{OTHER_GRID}",
        json={"properties": {"name": "x"}},
        headers=env.h("chief"),
    )
    assert r.status_code == 403
    r = env.client.patch(
        f"/collections/grids_level1/items/{CHIEF_GRID}",
        json={"properties": {"parent_code": "D1"}},
        headers=env.h("chief"),
    )
    assert r.status_code == 400 and "cannot be patched" in r.json()["description"]


def test_planner_edits_anywhere_and_bad_values_are_refused(env: Env) -> None:
    other, _ = w.camera_inside(OTHER_GRID)
    r = env.client.patch(
        f"/collections/cameras/items/{other}",
        json={"properties": {"status": "offline"}},
        headers=env.h("planner"),
    )
    assert r.status_code == 200 and r.json()["properties"]["status"] == "offline"
    before = w.stored_digest(env.settings, "cameras")
    for props in ({"type": "laser"}, {"fov_deg": -5}, {"camera_id": "renamed"}, {"nope": 1}):
        r = env.client.patch(
            f"/collections/cameras/items/{other}",
            json={"properties": props},
            headers=env.h("planner"),
        )
        assert r.status_code == 400, (props, r.text)
    r = env.client.patch(
        f"/collections/cameras/items/{other}",
        content=b"[" * 1000 + b"]" * 1000,
        headers={**env.h("planner"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "1000 levels deep" in r.json()["description"]
    assert w.stored_digest(env.settings, "cameras") == before


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = w.settings_for("gpkg", tmp_path, rate_limit_per_minute=60, rate_limit_burst=3)
    w.fill_store(settings)
    key = w.add_key(settings, "reader")
    with TestClient(create_app(settings)) as client:
        codes = [
            client.get("/conformance", headers={"X-API-Key": key}).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        r = client.get("/conformance", headers={"X-API-Key": key})
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60


def test_a_key_made_while_the_server_runs_works_at_once(tmp_path: Path) -> None:
    """The server caches the key list; a new key's unknown id makes it read the list again."""
    from gridcover.api.store.keys import KeyStore

    settings = Settings(data_dir=tmp_path, load_sample=False, key_cache_seconds=600)
    w.fill_store(settings)
    first = w.add_key(settings, "reader")
    with TestClient(create_app(settings)) as client:
        assert client.get("/collections", headers={"X-API-Key": first}).status_code == 200
        new = KeyStore(target_for(settings)).add("new planner", "planner").token
        r = client.get("/collections", headers={"X-API-Key": new})
        assert r.status_code == 200, r.text


def test_key_guessing_is_limited_even_with_the_request_limit_off(tmp_path: Path) -> None:
    """Each unknown key costs one scrypt: such checks have their own, always-on bucket."""
    from gridcover.api.auth import VERIFY_BURST

    settings = w.settings_for("gpkg", tmp_path, rate_limit_per_minute=0)
    w.fill_store(settings)
    key = w.add_key(settings, "reader")
    with TestClient(create_app(settings)) as client:
        assert client.get("/conformance", headers={"X-API-Key": key}).status_code == 200
        codes = []
        for i in range(3 * VERIFY_BURST):  # the bucket refills at 1/s while scrypt runs
            r = client.get("/conformance", headers={"X-API-Key": f"{key[:13]}{i:043d}"})
            codes.append(r.status_code)
            if r.status_code != 401:
                break
        assert codes[-1] == 429 and int(r.headers["retry-after"]) >= 1
        assert set(codes[:-1]) == {401} and len(codes) > VERIFY_BURST - 1
        # the real key was verified before: its cached check costs no scrypt and still works
        assert client.get("/conformance", headers={"X-API-Key": key}).status_code == 200


def test_revoked_key_stops_working_and_cors_is_exact(tmp_path: Path) -> None:
    from gridcover.api.store.keys import KeyStore

    settings = w.settings_for(
        "gpkg", tmp_path, cors_origins=["https://gis.example.org"], query_key=True
    )
    w.fill_store(settings)
    keys = KeyStore(target_for(settings))
    made = keys.add("desktop", "reader")
    with TestClient(create_app(settings)) as client:
        assert client.get("/collections", params={"api_key": made.token}).status_code == 200
        keys.revoke(made.record.id)
        assert client.get("/collections", params={"api_key": made.token}).status_code == 401
        pre = {
            "Origin": "https://gis.example.org",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "X-API-Key",
        }
        r = client.options("/collections/cameras/items/1", headers=pre)
        assert r.headers["access-control-allow-origin"] == "https://gis.example.org"
        r = client.options(
            "/collections/cameras/items/1", headers={**pre, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in r.headers
    with pytest.raises(ValueError, match="wildcards"):
        Settings(cors_origins=["*"])


def test_keys_are_hashed_at_rest(tmp_path: Path) -> None:
    import sqlite3

    settings = w.settings_for("gpkg", tmp_path)
    token = w.add_key(settings, "admin")
    with sqlite3.connect(settings.store_path) as conn:
        rows = conn.execute("SELECT id, salt, digest FROM gridcover_api_keys").fetchall()
    raw = open(settings.store_path, "rb").read()  # noqa: SIM115
    assert token.encode() not in raw and token.split("_", 2)[2].encode() not in raw
    ((key_id, salt, digest),) = rows
    assert token.startswith(f"gck_{key_id}_")
    expect = hashlib.scrypt(
        token.split("_", 2)[2].encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1, dklen=32
    )
    assert expect.hex() == digest


def test_query_string_keys_are_redacted_from_log_records() -> None:
    token = "gck_0123abcd_" + "s" * 43
    line = f'127.0.0.1:5000 - "GET /collections?api_key={token}&f=json HTTP/1.1" 200'
    assert token not in redact(line) and "api_key=[REDACTED]&f=json" in redact(line)
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/items?api_key={token}", "1.1", 200),
        None,
    )
    RedactKeys().filter(record)
    assert token not in record.getMessage()


def test_live_server_access_log_never_shows_a_query_key(tmp_path: Path) -> None:
    import httpx

    settings = w.settings_for("gpkg", tmp_path / "data", query_key=True)
    w.fill_store(settings)
    token = w.add_key(settings, "reader")
    log = tmp_path / "server.log"
    with w.uvicorn_server(settings, log=log) as (base, _):
        r = httpx.get(f"{base}/collections/cameras/items", params={"api_key": token, "limit": 2})
        assert r.status_code == 200 and len(r.json()["features"]) == 2
        assert token not in r.text  # not echoed in the self/next links either
        r = httpx.get(f"{base}/collections", params={"api_key": token + "x"})
        assert r.status_code == 401
    text = log.read_text()
    assert "GET /collections/cameras/items?" in text  # the access log is on
    assert token not in text and token.split("_")[2] not in text
    assert "api_key" not in text  # removed from the query string before anything logs it


def test_grid_chief_sites_and_no_analyses(env: Env) -> None:
    _, p = w.camera_inside(CHIEF_GRID, 3)
    _, q = w.camera_inside(OTHER_GRID, 1)
    sites = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(pt.buffer(2e-4, 4)),
                "properties": {"site_id": sid, "kind": "school", "name": sid},
            }
            for sid, pt in (("S8", p), ("S9", q))
        ],
    }
    r = env.client.put(
        "/layers/sites",
        files={"file": ("sites.geojson", json.dumps(sites))},
        headers=env.h("planner"),
    )
    assert r.status_code in (200, 201), r.text
    mine = {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(p.buffer(1e-4, 4)),
        "properties": {"site_id": "S8b", "kind": "kindergarten"},
    }
    r = env.client.post("/collections/sites/items", json=mine, headers=env.h("chief"))
    assert r.status_code == 201, r.text
    theirs = {
        **mine,
        "geometry": shapely.geometry.mapping(q.buffer(1e-4, 4)),
        "properties": {"site_id": "S9b", "kind": "bank"},
    }
    r = env.client.post("/collections/sites/items", json=theirs, headers=env.h("chief"))
    assert r.status_code == 403 and "would lie in grid" in r.json()["description"]
    r = env.client.patch(
        "/collections/sites/items/S9", json={"properties": {"name": "x"}}, headers=env.h("chief")
    )
    assert r.status_code == 403
    assert (
        env.client.delete("/collections/sites/items/S8", headers=env.h("chief")).status_code == 204
    )
    r = env.client.post("/analysis/coverage", json={}, headers=env.h("chief"))
    assert r.status_code == 403
    r = env.client.post("/analysis/coverage", json={}, headers=env.h("reader"))
    assert r.status_code == 403


def test_postgis_refuses_even_with_the_api_scope_check_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridcover.api import features_write

    settings = w.settings_for("postgis", tmp_path)
    w.fill_store(settings)
    chief = {"X-API-Key": w.add_key(settings, "grid_chief", CHIEF_GRID)}
    monkeypatch.setattr(features_write, "check_scope", lambda *a, **k: None)  # API check off
    other, q = w.camera_inside(OTHER_GRID)
    own, _ = w.camera_inside(CHIEF_GRID)
    before = w.stored_digest(settings, "cameras")
    with TestClient(create_app(settings)) as client:
        r = client.patch(
            f"/collections/cameras/items/{other}",
            json={"properties": {"owner": "x"}},
            headers=chief,
        )
        assert r.status_code == 403 and "row-level security" in r.json()["description"]
        r = client.patch(
            f"/collections/cameras/items/{own}",
            json={"geometry": {"type": "Point", "coordinates": [q.x, q.y]}},
            headers=chief,
        )
        assert r.status_code == 403 and "violates row-level security" in r.json()["description"]
        r = client.delete(f"/collections/cameras/items/{other}", headers=chief)
        assert r.status_code == 403
        r = client.patch(
            f"/collections/grids_level1/items/{OTHER_GRID}",
            json={"properties": {"name": "x"}},
            headers=chief,
        )
        assert r.status_code == 403
    assert w.stored_digest(settings, "cameras") == before
