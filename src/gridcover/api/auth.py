"""Who may do what: API keys, roles, closed or open reads, rate limits, log redaction.

A pure ASGI middleware (``AuthMiddleware``) runs before every route. It reads the key from
``X-API-Key`` or ``Authorization: Bearer``, or from ``?api_key=`` when ``settings.query_key``
allows it (desktop GIS), verifies it against the salted scrypt hashes in the store's database,
applies the per-key rate limit (429 with Retry-After) and the role rules:

- reads (GET, HEAD, OPTIONS): anyone while reads are open, any valid key when closed
  (``read_access``: ``auto`` closes them as soon as one active key exists);
- writes: ``admin`` and ``planner`` everywhere; ``grid_chief`` only on single features
  (``/collections/{id}/items[/{featureId}]``, where the route checks his grid scope);
  ``reader`` never (403); no key: 401.

It sets the request's ``Actor`` (``request.state.actor`` and the ``current_actor`` context
variable, which the audit log and the PostGIS role switch use), an ``X-Request-ID`` header
and ``Cache-Control: private, no-store`` on every answer carrying data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridcover.api.store import keys as apikeys
from gridcover.api.store.edits import ANONYMOUS, Actor, current_actor
from gridcover.errors import PermissionDenied
from gridcover.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FEATURE_WRITE_PATH = re.compile(r"^/collections/[^/]+/items(/[^/]+)?/?$")
PUBLIC_PATHS = frozenset({"/", "/conformance", "/api"})
#: Static files that hold no data (Leaflet's JS, CSS and icons for the map pages; the web
#: app's page and its JS/CSS, whose sign-in form asks for the key): readable without a key.
PUBLIC_PREFIXES = ("/static/maps/", "/app/static/")
PUBLIC_FILES = frozenset({"/app", "/app/"})
#: Routes besides single features where a grid chief may write (the route checks his grid).
CHIEF_WRITE_PATHS = frozenset({"/app/qa-reviews"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# An underscore and an equals sign as written plainly, percent-encoded (once or twice),
# or escaped in JSON/Python text: a key is redacted however a client or a log encoded it.
_US = r"(?:_|%5f|%255f|\\u005f|\\x5f)"
_EQ = r"(?:=|%3d|%253d|\\u003d|\\x3d)"
_SECRET = re.compile(
    rf"(?i)(api{_US}key{_EQ})[^&\s\"']+|gck{_US}[0-9a-f]{{8}}{_US}[A-Za-z0-9_%\\-]+"
)
VERIFIED_TTL = 300.0
#: Uncached key checks (one scrypt each, ~16 MiB and tens of ms) per client address: a bucket
#: of its own, always on, so a generous request limit never opens the door to a scrypt flood.
VERIFY_PER_MINUTE, VERIFY_BURST = 60, 20


def redact(text: str) -> str:
    """``text`` with API keys (``api_key=...`` values, ``gck_...`` tokens) blanked out, also
    when percent-encoded (``api%5Fkey%3Dgck%5F...``, twice-encoded) or escaped (``\\u005f``)."""
    return _SECRET.sub(lambda m: (m.group(1) or "") + "[REDACTED]", text)


class RedactKeys(logging.Filter):
    """A logging filter that removes API keys from messages and their arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def install_log_redaction() -> None:
    """Add ``RedactKeys`` to the uvicorn, gridcover and root loggers and their handlers."""
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn", "gridcover", "fastapi", ""):
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, RedactKeys) for f in target.filters):
                target.addFilter(RedactKeys())


class KeyCache:
    """Active keys, re-read every ``ttl`` seconds, and recently verified tokens."""

    def __init__(self, keys: apikeys.KeyStore, ttl: float) -> None:
        self.keys = keys
        self.ttl = ttl
        self._active: dict[str, apikeys.ApiKey] = {}
        self._loaded = -math.inf
        self._verified: dict[str, tuple[str, float]] = {}

    async def active(self) -> dict[str, apikeys.ApiKey]:
        now = time.monotonic()
        if now - self._loaded >= self.ttl:
            self._active = await anyio.to_thread.run_sync(self.keys.active)
            self._loaded = now
        return self._active

    async def check(self, token: str, may_hash: Callable[[], bool]) -> apikeys.ApiKey | str | None:
        """The active key of ``token``, None, or "limited" when ``may_hash()`` says no.

        A cache miss runs scrypt in a worker thread.
        """
        active = await self.active()
        digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        hit = self._verified.get(digest)
        if hit is not None and hit[1] > time.monotonic():
            return active.get(hit[0])
        if not may_hash():
            return "limited"
        parsed = apikeys.parse_token(token)
        if parsed and parsed[0] not in active:
            # Perhaps a key made since the last load: read the list again. Such reloads are
            # bounded by the per-address limit on uncached checks (``may_hash`` above).
            self._loaded = -math.inf
            active = await self.active()
        record = await anyio.to_thread.run_sync(apikeys.verify, token, active)
        if record is not None:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[digest] = (record.id, time.monotonic() + VERIFIED_TTL)
        return record


class RateLimiter:
    """Token buckets: ``per_minute`` requests per minute, bursts up to ``burst``."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str) -> float:
        """0 if ``who`` may go on, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, last = self._buckets.get(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[who] = (tokens - 1.0, now)
            return 0.0
        self._buckets[who] = (tokens, now)
        if len(self._buckets) > 50_000:
            self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.burst}
        return (1.0 - tokens) / self.rate

    def wait(self, who: str) -> float:
        """Seconds until ``who`` has a token again (0 if it has one now); takes nothing."""
        if self.rate <= 0 or who not in self._buckets:
            return 0.0
        tokens, last = self._buckets[who]
        tokens = min(self.burst, tokens + (time.monotonic() - last) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate


def _error(status: int, code: str, description: str) -> dict[str, Any]:
    return {"code": code, "description": description, "status": status}


class AuthMiddleware:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings, keys: apikeys.KeyStore) -> None:
        self.app = app
        self.settings = settings
        self.cache = KeyCache(keys, settings.key_cache_seconds)
        self.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.verify_limiter = RateLimiter(VERIFY_PER_MINUTE, VERIFY_BURST)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"")
        # the key leaves the query string before anything (routes, the access log) sees it
        scope["query_string"] = _without_key(query)
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        method, path = scope["method"], scope["path"]
        open_reads = await self._reads_open()
        # data-free static files keep their own Cache-Control (versioned app assets: immutable)
        static = path in PUBLIC_FILES or path.startswith(PUBLIC_PREFIXES)
        restricted = not (open_reads and path in PUBLIC_PATHS) and not static

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                hs = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                ]
                if restricted:
                    hs.append((b"cache-control", b"private, no-store"))
                else:
                    hs += [
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() == b"cache-control"
                    ]
                hs.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": hs}
            await send(message)

        actor, problem = await self._identify(scope, query, headers, request_id)
        if problem is None:
            problem = self._limit(scope, actor)
        if problem is None:
            problem = self._authorize(method, path, actor, open_reads)
        if problem is not None:
            status, body, extra = problem
            await _json(send_with_headers, status, body, extra)
            return
        scope.setdefault("state", {})["actor"] = actor
        token = current_actor.set(actor)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_actor.reset(token)

    async def _reads_open(self) -> bool:
        mode = self.settings.read_access
        if mode == "auto":
            return not await self.cache.active()
        return mode == "open"

    async def _identify(
        self, scope: Scope, query_string: bytes, headers: dict[str, str], request_id: str
    ) -> tuple[Actor, tuple[int, dict[str, Any], dict[str, str]] | None]:
        token, source = None, ""
        if headers.get("x-api-key"):
            token, source = headers["x-api-key"], "header"
        elif headers.get("authorization", "").lower().startswith("bearer "):
            token, source = headers["authorization"][7:].strip(), "bearer"
        else:
            query = dict(parse_qsl(query_string.decode("latin-1")))
            if "api_key" in query:
                token, source = query["api_key"], "query"
        anonymous = Actor(ANONYMOUS.name, ANONYMOUS.role, request_id=request_id)
        if token is None:
            return anonymous, None
        challenge = {"www-authenticate": 'Bearer realm="gridcover"'}
        if source == "query" and not self.settings.query_key:
            return anonymous, (401, _error(401, "Unauthorized",
                "API keys in the query string are disabled on this server; send the key in "
                "the X-API-Key header (or Authorization: Bearer), or ask the administrator "
                "to set GRIDCOVER_QUERY_KEY=true for desktop GIS"), challenge)  # fmt: skip
        record = await self.cache.check(token, lambda: self._may_hash(scope))
        if record == "limited":
            return anonymous, (429, _error(429, "TooManyRequests",
                f"more than {VERIFY_BURST} checks of unknown API keys from your address; retry "
                "in a few seconds"), {"retry-after": str(self._verify_wait(scope))})  # fmt: skip
        if not isinstance(record, apikeys.ApiKey):
            return anonymous, (401, _error(401, "Unauthorized",
                "the API key is not valid (unknown, revoked or mistyped); "
                "'gridcover keys list' shows the keys of this server"), challenge)  # fmt: skip
        actor = Actor(name=record.name, role=record.role, key_id=record.id,
                      grid_code=record.grid_code, request_id=request_id)  # fmt: skip
        return actor, None

    def _may_hash(self, scope: Scope) -> bool:
        """Uncached key checks (scrypt) are rate-limited per client address."""
        return self.verify_limiter.take(_client(scope)) == 0

    def _verify_wait(self, scope: Scope) -> int:
        """Whole seconds until the address may have one more key checked."""
        return max(1, math.ceil(self.verify_limiter.wait(_client(scope))))

    def _limit(
        self, scope: Scope, actor: Actor
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        who = f"key:{actor.key_id}" if actor.key_id else f"ip:{_client(scope)}"
        wait = self.limiter.take(who)
        if not wait:
            return None
        seconds = max(1, math.ceil(wait))
        return (429, _error(429, "TooManyRequests",
            f"rate limit of {self.settings.rate_limit_per_minute} requests per minute "
            f"exceeded; retry after {seconds} s"), {"retry-after": str(seconds)})  # fmt: skip

    def _authorize(
        self, method: str, path: str, actor: Actor, open_reads: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        challenge = {"www-authenticate": 'Bearer realm="gridcover"'}
        if method in SAFE_METHODS:
            if open_reads or actor.key_id is not None or path.startswith(PUBLIC_PREFIXES):
                return None
            if path in PUBLIC_FILES:
                return None
            return (401, _error(401, "Unauthorized",
                "this server's data is closed to anonymous readers; send an API key in the "
                "X-API-Key header (or Authorization: Bearer)"), challenge)  # fmt: skip
        if actor.key_id is None:
            return (401, _error(401, "Unauthorized",
                f"{method} {path} changes data and needs an API key of an admin, planner or "
                "grid chief; create one with 'gridcover keys add'"), challenge)  # fmt: skip
        if actor.role in ("admin", "planner"):
            return None
        if actor.role == "grid_chief" and (
            FEATURE_WRITE_PATH.match(path) or path in CHIEF_WRITE_PATHS
        ):
            return None
        if actor.role == "grid_chief":
            why = ("a grid chief may only create, edit and delete single cameras and sites and "
                   "edit his grids' attributes (/collections/{id}/items)")  # fmt: skip
        else:
            why = f"role {actor.role!r} may read but not change data"
        return 403, _error(403, "Forbidden", f"{method} {path} refused: {why}"), {}


def _without_key(query: bytes) -> bytes:
    """The query string without ``api_key`` however its name is encoded (``api%5Fkey``), and
    without any value that is a key (routes refuse unknown parameters; logs never show it)."""
    if not query:
        return query
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k != "api_key" and redact(v) == v and redact(k) == k]
    if len(kept) == len(pairs) and redact(query.decode("latin-1")) == query.decode("latin-1"):
        return query
    return urlencode(kept).encode("latin-1")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _json(send: Send, status: int, body: dict[str, Any], extra: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def get_actor(request: Request) -> Actor:
    """The actor of the request (set by ``AuthMiddleware``; anonymous without it)."""
    actor = getattr(request.state, "actor", None)
    return actor if isinstance(actor, Actor) else ANONYMOUS


def require_roles(*roles: str) -> Callable[[Request], Actor]:
    """A dependency that returns the actor or raises PermissionDenied (403)."""

    def dependency(request: Request) -> Actor:
        actor = get_actor(request)
        if actor.role not in roles:
            raise PermissionDenied(
                f"this action needs one of the roles {', '.join(roles)}; your key has role "
                f"{actor.role!r}"
            )
        return actor

    return dependency
