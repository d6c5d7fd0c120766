"""Every bad value of issue 13 answers 400 with a sentence, on both backends, and stores nothing.

Feature writes: integers beyond 64 bits, NaN/Infinity, a lone surrogate, string coordinates,
a raw latin-1 byte, ids with '/', NUL or CR-LF. Uploads: encodings that are no text encoding
or the wrong one, a GeoJSON with an undecodable byte, a zip member whose declared size lies.
The store's content (every layer's digest, read through a fresh connection) is compared
before and after each case. A Chinese id works end to end through its percent-encoded
Location.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient

import api_write_data as w
from api_server import CHICAGO
from gridcover.api.app import create_app
from gridcover.settings import Settings

SPEED = CHICAGO / "speed_camera_locations.csv"


@dataclass
class Env:
    settings: Settings
    client: TestClient
    h: dict[str, str]

    def digest(self) -> tuple[str, str]:
        return (w.stored_digest(self.settings, "cameras"), w.stored_digest(self.settings, "grids"))


@pytest.fixture(scope="module", params=w.BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    settings = w.settings_for(request.param, tmp_path_factory.mktemp(request.param))
    w.fill_store(settings)
    h = {"X-API-Key": w.add_key(settings, "admin")}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Env(settings, client, h)


def _camera(cid: str = "bad-1", **props: object) -> dict:
    _, p = w.camera_inside("D8", 4)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [p.x + 1e-4, p.y]},
        "properties": {"camera_id": cid, "type": "dome", "status": "online", **props},
    }


def _raw(doc: dict, old: str, new: str) -> bytes:
    return json.dumps(doc).replace(old, new).encode()


FEATURE_BODIES = {
    "integer beyond 64 bits": (
        json.dumps(_camera(ADDRESS=2**70)).encode(),
        "does not fit in this field's signed 64-bit integers",
    ),
    "NaN": (_raw(_camera(azimuth_deg=1.5), "1.5", "NaN"), "NaN, which is not a JSON number"),
    "Infinity": (_raw(_camera(azimuth_deg=1.5), "1.5", "Infinity"), "not a JSON number"),
    "lone surrogate": (_raw(_camera(ADDRESS="sur"), '"sur"', '"sur\\ud800"'), "lone surrogate"),
    "string coordinates": (
        json.dumps(
            {**_camera(), "geometry": {"type": "Point", "coordinates": ["-87.6", "41.8"]}}
        ).encode(),
        "is not a number",
    ),
    "raw latin-1 byte": (
        json.dumps(_camera(ADDRESS="caf\u00e9")).replace("\\u00e9", "\u00e9").encode("latin-1"),
        "is not UTF-8",
    ),
    "slash in id": (json.dumps(_camera("a/b")).encode(), "cannot be a feature id"),
    "NUL in id": (json.dumps(_camera("a\u0000b")).encode(), "control characters"),
    "CR-LF in id": (json.dumps(_camera("a\r\nSet-Cookie: x=1")).encode(), "control characters"),
    "dot-dot id": (json.dumps(_camera("..")).encode(), "cannot be a feature id"),
    "nested property": (json.dumps(_camera(ADDRESS={"a": 1})).encode(), "is a JSON dict"),
}


@pytest.mark.parametrize("case", list(FEATURE_BODIES))
def test_bad_feature_bodies_answer_400_and_store_nothing(env: Env, case: str) -> None:
    body, words = FEATURE_BODIES[case]
    before = env.digest()
    headers = {**env.h, "Content-Type": "application/geo+json"}
    r = env.client.post("/collections/cameras/items", content=body, headers=headers)
    assert r.status_code == 400, (case, r.status_code, r.text)
    assert words in r.json()["description"], r.json()["description"]
    cid, _ = w.camera_inside("D9", 0)
    patch = body.replace(b'"type": "Feature", ', b"").replace(b'"bad-1"', json.dumps(cid).encode())
    if b'"camera_id": "bad-1"' not in body:  # the id cases: a patch cannot change the id
        patch = body
    r = env.client.patch(f"/collections/cameras/items/{cid}", content=patch, headers=headers)
    assert r.status_code == 400, (case, r.status_code, r.text)
    assert env.digest() == before


def _zip_with_lying_size(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("speed.csv", data)
    raw = bytearray(buf.getvalue())
    # the central directory's uncompressed size of the one member says 10 bytes
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    lh = raw.find(b"PK\x03\x04")
    raw[lh + 22 : lh + 26] = (10).to_bytes(4, "little")
    return bytes(raw)


def _latin1_geojson() -> bytes:
    gdf = w.cameras().head(4)[["camera_id", "type", "status", "ADDRESS", "geometry"]]
    text = gdf.to_json().replace("St", "Caf\u00e9", 1)
    return text.encode("latin-1")


UPLOADS = {
    "encoding=rot13": (
        "speed.csv",
        SPEED.read_bytes(),
        {"encoding": "rot13"},
        "not a text encoding",
    ),
    "encoding=zlib_codec": (
        "speed.csv",
        SPEED.read_bytes(),
        {"encoding": "zlib_codec"},
        "not a text",
    ),
    "encoding=utf-16 on UTF-8": (
        "speed.csv",
        SPEED.read_bytes(),
        {"encoding": "utf-16"},
        "decoded",
    ),
    "encoding=nonsense": ("speed.csv", SPEED.read_bytes(), {"encoding": "no-such"}, "not a known"),
    "raw latin-1 byte in GeoJSON": (
        "c.geojson",
        _latin1_geojson(),
        {},
        "cannot be decoded as UTF-8",
    ),
    "zip member lies about its size": (
        "speed.zip",
        _zip_with_lying_size(SPEED.read_bytes()),
        {},
        "not what its header declares",
    ),
}


@pytest.mark.parametrize("case", list(UPLOADS))
def test_bad_uploads_answer_400_and_store_nothing(env: Env, case: str) -> None:
    name, data, form, words = UPLOADS[case]
    before = env.digest()
    r = env.client.put("/layers/cameras", files={"file": (name, data)}, data=form, headers=env.h)
    assert r.status_code == 400, (case, r.status_code, r.text)
    assert words in r.json()["description"], r.json()["description"]
    assert env.digest() == before


def test_a_chinese_id_is_created_fetched_patched_and_deleted_by_its_location(env: Env) -> None:
    cid = "摄像头-1"
    r = env.client.post("/collections/cameras/items", json=_camera(cid), headers=env.h)
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    assert location == "/collections/cameras/items/" + quote(cid, safe="")
    assert location.isascii() and unquote(location).endswith(cid)
    got = env.client.get(location, headers=env.h)
    assert got.status_code == 200 and got.json()["id"] == cid
    assert any(link["href"].endswith(quote(cid, safe="")) for link in got.json()["links"])
    r = env.client.patch(
        location,
        json={"properties": {"status": "offline"}},
        headers={**env.h, "If-Match": got.headers["etag"]},
    )
    assert r.status_code == 200 and r.json()["properties"]["status"] == "offline"
    assert env.client.delete(location, headers=env.h).status_code == 204
    assert env.client.get(location, headers=env.h).status_code == 404


def test_versioned_editing_is_advertised(env: Env) -> None:
    conf = env.client.get("/conformance", headers=env.h).json()["conformsTo"]
    part4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/"
    assert {
        part4 + c for c in ("create-replace-delete", "update", "optimistic-locking-etags")
    } <= set(conf)
    doc = env.client.get("/api", headers=env.h).json()
    item = doc["paths"]["/collections/{collectionId}/items/{featureId}"]
    for method in ("put", "patch", "delete"):
        names = [p.get("name") for p in item[method].get("parameters", [])]
        assert "If-Match" in names, (method, names)
        assert "412" in item[method]["responses"], method
