"""Layer uploads (create or atomically replace an input layer) and request-body limits.

``PUT /layers/{layer}`` takes a multipart form with ``file`` (GeoJSON, zipped Shapefile,
GeoPackage or CSV) and optional ``crs``, ``coord_sys``, ``encoding`` and ``sublayer`` (a layer
inside a GeoPackage or zip). The file goes through the foundation's ``gis.read_layer``
(every check it makes; a ValidationReport answers 400 and lists the bad rows). Zips are
checked first against the upload limits (entries, declared size, compression ratio, unsafe
names); JSON against a nesting depth. The store replaces the layer in one transaction,
audited: on any error the previous layer is intact. ``DELETE /layers/{layer}`` removes one.

``BodyLimitMiddleware`` (pure ASGI) refuses a body larger than the limit while it streams:
a declared Content-Length over the limit is answered 413 before a byte is read, a chunked
body as soon as the running count passes it.
"""

import codecs
import json
import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridcover.api.auth import require_roles
from gridcover.api.coord_sanity import check_declared_crs, check_not_swapped, stored_extents
from gridcover.api.deps import get_settings, get_store
from gridcover.api.openapi import responses_for
from gridcover.api.store import LayerMeta, Store
from gridcover.api.store.edits import Actor
from gridcover.api.store.publish import INPUT_KINDS, TITLES, views_for
from gridcover.errors import InputError, NotFound, ValidationReport
from gridcover.gis.archive import ArchiveLimits, check_archive
from gridcover.gis.schemas import SCHEMAS
from gridcover.settings import Settings

UPLOAD_PATH = re.compile(r"^/layers/[^/]+/?$")
SUFFIXES = (".geojson", ".json", ".zip", ".gpkg", ".csv", ".xlsx", ".xml", ".kml", ".kmz")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_CHUNK = 1024**2


# -- body size ----------------------------------------------------------------------------------
class BodyTooLarge(HTTPException):
    """The request body passed the limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than the limit of {limit:,} bytes; send a smaller "
            "file (or ask the administrator to raise GRIDCOVER_MAX_UPLOAD_BYTES)",
        )


class BodyLimitMiddleware:
    """Refuse bodies over ``settings.max_upload_bytes`` (uploads) / ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = UPLOAD_PATH.match(scope["path"]) is not None
        limit = self.settings.max_upload_bytes if upload else self.settings.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watch_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watch_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    exc = BodyTooLarge(limit)
    body = json.dumps({"code": "PayloadTooLarge", "description": exc.detail, "status": 413})
    data = body.encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
        (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": data})


# -- JSON nesting -------------------------------------------------------------------------------
def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays/objects in a JSON text (strings are skipped)."""
    plain = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    opens = (plain == ord("[")) | (plain == ord("{"))
    closes = (plain == ord("]")) | (plain == ord("}"))
    steps = opens.astype(np.int32) - closes.astype(np.int32)
    return int(np.cumsum(steps).max()) if len(steps) else 0


def check_json_depth(data: bytes, limit: int, what: str) -> None:
    """Raise InputError if ``data`` nests deeper than ``limit``."""
    depth = json_depth(data)
    if depth > limit:
        raise InputError(
            f"{what} nests arrays/objects {depth} levels deep, more than the limit of {limit}; "
            "GeoJSON needs at most 5-6 levels, so this is not a layer file"
        )


# -- the routes ---------------------------------------------------------------------------------
def _save_upload(upload: UploadFile, folder: Path) -> tuple[Path, str]:
    """Copy the uploaded file into ``folder`` under a safe name; (path, client file name)."""
    name = Path(upload.filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"{name!r}: unsupported file type {suffix or '(none)'}; upload a GeoJSON, a zipped "
            "Shapefile (.zip with .shp, .dbf, .shx, .prj), a GeoPackage or a CSV"
        )
    path = folder / f"upload{suffix}"
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out, _CHUNK)
    return path, name


def _read_upload(path: Path, name: str, kind: str, settings: Settings, options: dict) -> Any:
    from gridcover.gis import read_layer

    check_encoding(options.get("encoding"))
    try:
        if path.suffix == ".zip":
            limits = ArchiveLimits(
                max_entries=settings.zip_max_entries,
                max_total_bytes=settings.zip_max_bytes,
                max_ratio=settings.zip_max_ratio,
            )
            check_archive(path, limits)
        if path.suffix in (".json", ".geojson"):
            check_json_depth(path.read_bytes(), settings.max_json_depth, name)
        gdf = read_layer(path, kind, **options)
    except ValidationReport as exc:
        raise ValidationReport(_relabel(exc.source, path, name), exc.problems) from None
    except InputError as exc:
        raise type(exc)(_relabel(str(exc), path, name)) from None
    except UnicodeError as exc:
        raise InputError(
            f"{name}: the text cannot be decoded as {options.get('encoding') or 'UTF-8'} "
            f"({_relabel(str(exc), path, name)[:160]}); give the file's encoding in the "
            "'encoding' form field (e.g. gbk, gb18030, latin-1) or save it as UTF-8."
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InputError(
            f"{name}: the zip archive is damaged or one of its members is not what its "
            f"header declares ({_relabel(str(exc), path, name)[:160]}); zip the files again."
        ) from None
    if len(gdf) == 0:
        raise InputError(f"{name}: the file holds no features; nothing was written")
    return gdf


def upload_profile_fields(columns: str | None, profile: str | None) -> dict[str, Any]:
    """``columns`` (JSON object) and ``profile`` (TOML text) form fields as read_layer options."""
    import tomllib

    from gridcover.gis.profile import profile_from_dict

    out: dict[str, Any] = {}
    if columns:
        try:
            mapping = json.loads(columns)
        except json.JSONDecodeError as exc:
            mapping = exc
        if not isinstance(mapping, dict):
            raise InputError(
                'the columns form field must be a JSON object {"SOURCE": "canonical"}, e.g. '
                '{"方位": "azimuth_deg"}'
            )
        out["columns"] = {str(k): (v or None) for k, v in mapping.items()}
    if profile:
        try:
            data = tomllib.loads(profile)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"the profile form field is not valid TOML ({exc}).") from None
        out["profile"] = profile_from_dict(data, "the profile form field")
    return out


def _settle_offsets(gdf: Any, upload: tuple, store: Store) -> tuple[Any, str | None]:
    """Points in China without a declared coordinate system are fitted to the stored roads,
    buildings and grids (as in the CLI): the clearly better system is applied and stated;
    unclear evidence is a 400 naming the coord_sys field."""
    from gridcover.gis.layer_set import offset_decision, settle_offsets
    from gridcover.gis.offset_fit import REFERENCE_KINDS, undeclared_china_points

    path, name, kind, settings, options = upload
    if not undeclared_china_points({kind: gdf}):
        return gdf, None
    others = {k: store.read_layer(k) for k in REFERENCE_KINDS if store.has_layer(k)}
    fit = settle_offsets(kind, gdf, others, name, flag="the form field coord_sys={system}")
    if fit is None:
        return gdf, None
    if fit.best != "wgs84":
        gdf = _read_upload(path, name, kind, settings, {**options, "coord_sys": fit.best})
    return gdf, offset_decision(kind, fit, name)


def check_encoding(encoding: str | None) -> None:
    """InputError unless ``encoding`` is None or names a text encoding Python knows
    (``rot13`` and ``zlib_codec`` are codecs but not text encodings)."""
    if encoding is None:
        return
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise InputError(
            f"encoding={encoding!r} is not a known text encoding; use e.g. utf-8, gbk, "
            "gb18030 or latin-1."
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise InputError(
            f"encoding={encoding!r} is a codec but not a text encoding; use e.g. utf-8, gbk, "
            "gb18030 or latin-1."
        )


def _relabel(text: str, path: Path, name: str) -> str:
    """Messages name the client's file, not the server's temporary path."""
    return text.replace(str(path), name)


def uploads_router() -> APIRouter:
    """Routes that create, replace and delete input layers (admin and planner keys)."""
    router = APIRouter(tags=["Layers"])
    writer = Depends(require_roles("admin", "planner"))
    StoreDep = Annotated[Store, Depends(get_store)]
    SettingsDep = Annotated[Settings, Depends(get_settings)]

    @router.put(
        "/layers/{layer}",
        summary="Create or atomically replace an input layer from an uploaded file",
        responses={
            200: {"description": "Replaced"}, 201: {"description": "Created"},
            **responses_for(None, 400, 401, 403, 413, 429),
        },
    )  # fmt: skip
    def put_layer(
        layer: str,
        store: StoreDep,
        settings: SettingsDep,
        file: Annotated[UploadFile, File(description="GeoJSON, zipped Shapefile, GPKG or CSV")],
        actor: Annotated[Actor, writer],
        crs: Annotated[str | None, Form(description="source CRS if the file has none")] = None,
        coord_sys: Annotated[str | None, Form(description="wgs84, gcj02 or bd09")] = None,
        encoding: Annotated[str | None, Form(description="text encoding override")] = None,
        sublayer: Annotated[str | None, Form(description="layer inside a GPKG/zip")] = None,
        columns: Annotated[
            str | None, Form(description='column mapping, JSON: {"SOURCE": "canonical"}')
        ] = None,
        profile: Annotated[
            str | None, Form(description="import profile, TOML text (docs/DATA.md)")
        ] = None,
    ) -> JSONResponse:
        if layer not in INPUT_KINDS:
            raise NotFound(
                f"layer {layer!r} cannot be uploaded; upload one of {', '.join(INPUT_KINDS)}"
            )
        options = {"crs": crs, "coord_sys": coord_sys, "encoding": encoding, "layer": sublayer}
        options.update(upload_profile_fields(columns, profile))
        with tempfile.TemporaryDirectory(prefix="gridcover-upload-") as tmp:
            path, name = _save_upload(file, Path(tmp))
            gdf = _read_upload(path, name, layer, settings, options)
            gdf, decision = _settle_offsets(gdf, (path, name, layer, settings, options), store)
        geoms = gdf.geometry.values
        check_declared_crs(geoms, options.get("crs") or crs, name)
        check_not_swapped(geoms, stored_extents(store.collections(), [layer, "grids"]), name)
        report = gdf.attrs.get("gridcover", {})
        schema = SCHEMAS[layer]
        title = TITLES.get(layer, layer)
        meta = LayerMeta(
            kind=layer, title=title, id_field=schema.id_field,
            params={"source": name, "uploaded_by": actor.name, "crs_in": report.get("crs_in")},
        )  # fmt: skip
        existed = store.has_layer(layer)
        store.replace_layer(layer, gdf, meta, views_for(layer, gdf, title, ""))
        body = {
            "layer": layer, "kind": layer, "rows": len(gdf), "replaced": existed,
            "collections": [c.id for c in store.collections() if c.layer == layer],
            "notes": report.get("notes", []), "source": name,
            "decisions": [decision] if decision else [],
        }  # fmt: skip
        return JSONResponse(body, status_code=200 if existed else 201)

    @router.delete(
        "/layers/{layer}",
        status_code=204,
        summary="Delete a stored layer and its collections",
        responses=responses_for(None, 401, 403, 404, 429),
    )
    def delete_layer(layer: str, store: StoreDep, actor: Annotated[Actor, writer]) -> Response:
        store.delete_layer(layer)
        return Response(status_code=204)

    return router
