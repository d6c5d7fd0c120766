"""Errors to HTTP: one table from gridcover error types to status codes, and the handlers.

Every error answer is JSON ``{"code": ..., "description": ..., "status": ...}`` (the OGC API
exception shape). Bad or unknown query parameters and invalid bodies answer 400, never 422.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridcover import errors as e

log = logging.getLogger("gridcover.api")

# Most specific first: the first matching type decides.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int, str], ...] = (
    (e.NotFound, 404, "NotFound"),
    (e.PermissionDenied, 403, "Forbidden"),
    (e.PreconditionFailed, 412, "PreconditionFailed"),
    (e.Conflict, 409, "Conflict"),
    (e.UnsafeArchive, 400, "UnsafeArchive"),
    (e.ValidationReport, 400, "ValidationFailed"),
    (e.CRSError, 400, "InvalidParameterValue"),
    (e.InputError, 400, "InvalidParameterValue"),
    (e.UnitsError, 400, "InvalidParameterValue"),
    (e.GridcoverError, 500, "ServerError"),
)

EXCEPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "description"],
    "properties": {
        "code": {"type": "string"},
        "description": {"type": "string"},
        "status": {"type": "integer"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}


def status_for(exc: Exception) -> tuple[int, str]:
    """HTTP status and OGC exception code of a gridcover error."""
    for cls, status, code in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status, code
    return 500, "ServerError"


def error_response(status: int, code: str, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"code": code, "description": description, "status": status, **extra},
        status_code=status,
    )


async def _gridcover_error(request: Request, exc: Exception) -> JSONResponse:
    status, code = status_for(exc)
    if status >= 500:
        log.exception("unexpected gridcover error on %s", request.url.path, exc_info=exc)
    extra = {"problems": exc.problems} if isinstance(exc, e.ValidationReport) else {}
    return error_response(status, code, str(exc), **extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(
        400, "InvalidParameterValue", "invalid request: " + "; ".join(parts) + "; see GET /api"
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {
        404: "NotFound",
        405: "MethodNotAllowed",
        406: "NotAcceptable",
        413: "PayloadTooLarge",
    }.get(exc.status_code, "HTTPError")
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}; the landing page / lists what is offered"
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        code = "InvalidParameterValue"  # FastAPI's words for a RecursionError or bad encoding
        detail = (
            "the request body could not be read as JSON (not JSON, or nested too deeply); send "
            f"a JSON object as documented for {request.method} {request.url.path} in GET /api"
        )
    resp = error_response(exc.status_code, code, detail)
    if exc.headers:
        resp.headers.update(exc.headers)
    return resp


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return error_response(500, "ServerError", "internal error; see the server log")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(e.GridcoverError, _gridcover_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
