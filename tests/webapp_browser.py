"""Helpers of the web app tests and benchmark: a live server on the bundled sample (with a
planted grid overlap so the QA list has issues), API keys per role, and Playwright pages on
Debian's Chromium with every request outside loopback aborted and logged.

Not a test module. Playwright is launched on ``/usr/bin/chromium`` (never ``playwright
install``). ``need_browser()`` skips without Chromium or Playwright, except under CI=true.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import pytest
import shapely

from api_server import live_server
from gridcover.api.store.keys import KeyStore
from gridcover.api.store.sql_target import target_for
from gridcover.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_geodata"
CHIEF_GRID = "11010100100304"  # the level-2 grid of the sample with the most cameras (35)
PLANTED = (
    "11010100100304001"  # one of its level-3 cells grown by ~4 m: overlaps with its neighbours
)
LOOPBACK = ("http://127.0.0.1", "data:", "blob:", "about:")
# Screenshots go to docs/img only when asked (GRIDCOVER_UPDATE_DOCS_IMG=1): a test run must not
# leave the checkout dirty.
DOCS_IMG = (
    ROOT / "docs" / "img"
    if os.environ.get("GRIDCOVER_UPDATE_DOCS_IMG") == "1"
    else Path(tempfile.gettempdir()) / "gridcover-app-screenshots"
)
DOCS_IMG.mkdir(parents=True, exist_ok=True)


def chromium_executable() -> str | None:
    for name in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if name and Path(name).exists():
            return name
    return None


def need_browser() -> str:
    """The Chromium path; skip (fail under CI=true) without Chromium or Playwright."""
    missing = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed (pip install -e .[test])"
    path = chromium_executable()
    if path is None:
        missing = "chromium not installed (apt-get install chromium)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required in CI: {missing}")
        pytest.skip(missing)
    assert path is not None
    return path


def planted_sample(folder: Path) -> Path:
    """A copy of the bundled sample whose grid PLANTED is grown by ~4 m (real shapes, one
    planted overlap for the grid check to find)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in SAMPLE.glob("*.geojson"):
        shutil.copy(f, folder / f.name)
    grids = gpd.read_file(SAMPLE / "grids.geojson")
    i = grids.index[grids["code"] == PLANTED][0]
    metric = grids.estimate_utm_crs()
    grown = grids.loc[[i]].to_crs(metric).buffer(4.0).to_crs(grids.crs)
    grids.loc[i, "geometry"] = grown.iloc[0]
    grids.to_file(folder / "grids.geojson", driver="GeoJSON")
    return folder


def make_keys(data_dir: Path) -> dict[str, str]:
    """One key per role (the chief's on CHIEF_GRID); {role: token}."""
    ks = KeyStore(target_for(Settings(data_dir=data_dir)))
    return {
        "reader": ks.add("Reader Zhao", "reader").token,
        "grid_chief": ks.add("Chief Li", "grid_chief", CHIEF_GRID).token,
        "planner": ks.add("Planner Wang", "planner").token,
        "planner2": ks.add("Planner Chen", "planner").token,
    }


def wait_jobs(base: str, key: str, timeout: float = 240) -> list[dict[str, Any]]:
    """Wait until every job is finished; the job documents."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = httpx.get(f"{base}/jobs", headers={"X-API-Key": key}, timeout=30).json()["jobs"]
        if jobs and all(j["status"] in ("successful", "failed") for j in jobs):
            return list(jobs)
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs still running after {timeout} s: {jobs}")
        time.sleep(0.5)


@dataclass
class Log:
    """What a browser context did: requests outside loopback (aborted), console errors and
    page exceptions, and the JSON answers of the API with their feature counts."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answers: list[tuple[str, int]] = field(default_factory=list)

    def clean(self, allowed_status: tuple[int, ...] = ()) -> list[str]:
        """Console errors except the browser's own note on an expected refusal status."""
        allowed = [f"status of {s} " for s in allowed_status]
        return [e for e in self.errors if not any(a in e for a in allowed)]


@contextmanager
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def new_context(b: Any, log: Log, lang: str = "zh") -> Any:
    """A context (own session storage) that aborts and logs every non-loopback request."""
    ctx = b.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(LOOPBACK):
            r.continue_()
        else:
            log.outside.append(url)
            r.abort()

    ctx.route("**/*", route)
    if lang != "zh":
        ctx.add_init_script(f"sessionStorage.setItem('gridcover.lang', '{lang}')")
    return ctx


def open_app(ctx: Any, base: str, key: str | None, log: Log) -> Any:
    """A page of the app, signed in with ``key`` (None: look without a key), ready."""
    page = ctx.new_page()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.errors.append(f"exception: {e}"))

    def answer(resp: Any) -> None:
        if "application/geo+json" in (resp.headers.get("content-type") or ""):
            with contextlib.suppress(Exception):  # aborted or replaced while reading
                log.answers.append((resp.url, len(resp.json().get("features", []))))

    page.on("response", answer)
    page.goto(f"{base}/app/")
    if key is None:
        page.click("#signin-anon")
    else:
        page.fill("#key", key)
        page.click("#signin-go")
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)
    return page


def settle(page: Any) -> None:
    """Wait for the map's pending layer requests after a move."""
    page.wait_for_timeout(300)
    page.evaluate("window.gridcover.look.pending")


@dataclass
class Env:
    """A live server on the planted sample, its data folder, keys per role, a browser."""

    base: str
    data_dir: Path
    keys: dict[str, str]
    sample: Path
    b: Any

    def h(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}

    def feature(self, cid: str, fid: str) -> httpx.Response:
        return httpx.get(f"{self.base}/collections/{cid}/items/{fid}", headers=self.h("reader"))


@contextmanager
def sample_env(tmp: Path) -> Iterator[Env]:
    """A live server on the planted sample (analyses done), keys per role, a browser."""
    chromium = need_browser()
    sample = planted_sample(tmp / "sample")
    data = tmp / "data"
    with live_server(data, load_sample="1", sample_dir=str(sample), sample_analyses="1") as base:
        keys = make_keys(data)
        jobs = wait_jobs(base, keys["planner"])
        assert all(j["status"] == "successful" for j in jobs), jobs
        with browser(chromium) as b:
            yield Env(base, data, keys, sample, b)


def chief_area(sample: Path) -> shapely.Geometry:
    grids = gpd.read_file(sample / "grids.geojson")
    return shapely.union_all(grids.loc[grids["code"] == CHIEF_GRID].geometry.to_numpy())


def cameras_by_depth(sample: Path) -> tuple[str, str]:
    """(a camera deep inside the chief's grid, a camera well outside it), by metric distance."""
    cams = gpd.read_file(sample / "cameras.geojson")
    area = gpd.GeoSeries([chief_area(sample)], crs=cams.crs)
    metric = cams.estimate_utm_crs()
    ring = area.to_crs(metric).boundary.iloc[0]
    pts = cams.to_crs(metric).geometry
    inside = cams.geometry.within(area.iloc[0]).to_numpy()
    depth = np.asarray(pts.distance(ring))
    deep = np.where(inside, depth, -1.0)
    far = np.where(~inside, depth, -1.0)
    assert deep.max() > 20 and far.max() > 50
    return str(cams["camera_id"].iloc[int(deep.argmax())]), str(
        cams["camera_id"].iloc[int(far.argmax())]
    )


def non_blank(png: bytes) -> None:
    """Assert a screenshot shows a picture: many colours, no colour over 80 % of it."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    flat = img.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    assert len(colours) > 100, "screenshot has almost no colours"
    assert counts.max() / flat.shape[0] < 0.8, "screenshot is mostly one colour"


def select(page: Any, camera: str) -> None:
    page.fill("#search", camera)
    page.click("#search-go")
    page.wait_for_selector("#selected h3", state="attached")
    settle(page)


def drag(page: Any, selector: str, dx: float, dy: float) -> None:
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def toast(page: Any) -> str:
    page.wait_for_selector("#toast:not([hidden])", state="visible", timeout=15_000)
    return str(page.inner_text("#toast"))


def scale_store(data_dir: Path, cameras: int = 100_000, cell_res: int = 11, seed: int = 17) -> int:
    """A store for the load tests: the sample's grids, ``cameras`` cameras spread uniformly over
    a 12 km x 12 km square around them, and coverage cells (H3 at ``cell_res``, stored as
    points) over the same square with a made-up covered flag and weight. Returns the cells.
    (Res 12 gives about 605,000 cells, res 11 about 86,000.)"""
    import h3
    import numpy as np
    import pandas as pd

    from gridcover.api.store.gpkg.store import GeoPackageStore
    from gridcover.api.store.publish import store_layer

    rng = np.random.default_rng(seed)
    cx, cy, half_x, half_y = 24.9415, 60.1700, 0.108, 0.054  # ~12 km x 12 km at 60.17 N
    lon = cx + rng.uniform(-half_x, half_x, cameras)
    lat = cy + rng.uniform(-half_y, half_y, cameras)
    cams = gpd.GeoDataFrame(
        {"camera_id": [f"c{i:06d}" for i in range(cameras)],
         "type": rng.choice(["bullet", "dome", "ptz"], cameras),
         "status": rng.choice(["online", "offline", "unknown"], cameras, p=[0.85, 0.1, 0.05]),
         "azimuth_deg": rng.uniform(0, 360, cameras).round(1), "fov_deg": 90.0, "range_m": 40.0},
        geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326",
    )  # fmt: skip
    square = h3.LatLngPoly(
        [(cy - half_y, cx - half_x), (cy - half_y, cx + half_x), (cy + half_y, cx + half_x),
         (cy + half_y, cx - half_x)]
    )  # fmt: skip
    ids = sorted(h3.polygon_to_cells(square, cell_res))
    centres = np.array([h3.cell_to_latlng(c) for c in ids])
    cells = gpd.GeoDataFrame(
        {"h3": ids, "covered": rng.random(len(ids)) < 0.3,
         "weight": rng.choice([0.0, 1.0, 5.0], len(ids), p=[0.6, 0.3, 0.1])},
        geometry=gpd.points_from_xy(centres[:, 1], centres[:, 0]), crs="EPSG:4326",
    )  # fmt: skip
    grids = gpd.read_file(SAMPLE / "grids.geojson")
    store = GeoPackageStore(data_dir / "gridcover.gpkg")
    try:
        store_layer(store, "grids", grids)
        store_layer(store, "cameras", cams)
        store_layer(store, "coverage_cells", pd.DataFrame(cells).pipe(gpd.GeoDataFrame))
    finally:
        store.close()
    return len(ids)
