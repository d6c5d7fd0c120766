"""``gridcover serve``: run the web service (OGC API - Features, analysis jobs, downloads)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "serve"
HELP = "serve the layers and analyses as OGC API - Features (uvicorn)"
DESCRIPTION = """\
Serve the store as OGC API - Features (read it in QGIS, GDAL/ogr2ogr, OWSLib), with analysis
jobs and downloads. With no configuration the store is ./gridcover-data/gridcover.gpkg,
created and loaded with the bundled sample on first start; the sample's grid check, coverage,
patrol zones and siting then run as background jobs (GET /jobs) and their results appear as
collections within seconds. GRIDCOVER_DATABASE_URL=postgresql://... serves a PostGIS
database instead of the GeoPackage.

Settings come from GRIDCOVER_* environment variables (GRIDCOVER_DATA_DIR, GRIDCOVER_MAX_LIMIT,
GRIDCOVER_PUBLIC_URL, GRIDCOVER_DATABASE_URL, ...; docs/API.md and docs/SECURITY.md list
them); the options below override them. Behind a reverse proxy, name it in
GRIDCOVER_FORWARDED_ALLOW_IPS so its X-Forwarded-For is trusted (nobody else's is).

examples:
  gridcover serve
  gridcover serve --data-dir /srv/gridcover --host 0.0.0.0 --port 8080
  ogrinfo OAPIF:http://127.0.0.1:8000
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="folder of the GeoPackage store")
    parser.add_argument(
        "--database-url", help="PostgreSQL + PostGIS URL of the store (GRIDCOVER_DATABASE_URL)"
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--public-url", help="base URL used in links (behind a proxy)")
    parser.add_argument(
        "--no-sample", action="store_true", help="do not load the sample into a new store"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from gridcover.api.app import create_app
    from gridcover.api.store import store_label
    from gridcover.api.webapp import warm_up
    from gridcover.settings import Settings

    overrides: dict[str, object] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.public_url is not None:
        overrides["public_url"] = args.public_url
    if args.no_sample:
        overrides["load_sample"] = False
    settings = Settings(**overrides)  # type: ignore[arg-type]
    app = create_app(settings)
    # the first page's one-time work before listening: a restart is not slower to use
    done = warm_up(app, app.state.store, app.state.zoom_cache)
    print(f"gridcover: {done.line()}", flush=True)
    print(
        f"gridcover: serving {store_label(settings)} on http://{settings.host}:{settings.port}",
        flush=True,
    )
    open_reads = settings.read_access == "open" or (
        settings.read_access == "auto" and not app.state.keys.active()
    )
    if open_reads and settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"gridcover: warning: anyone who reaches {settings.host}:{settings.port} can read "
            "every layer, camera positions included (no API key exists yet); make keys with "
            "'gridcover keys add' or set GRIDCOVER_READ_ACCESS=closed",
            flush=True,
        )
    # Forwarded headers are trusted only from the proxies the settings name (uvicorn's own
    # default trusts 127.0.0.1, which lets any local client reset the per-address limits).
    proxies = settings.forwarded_allow_ips
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or "",
    )
    return 0
