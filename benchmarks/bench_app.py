"""Web app speed in headless Chromium (prints; not a test): time to first useful paint, cold and
warm, on the bundled sample and on a store of 100,000 cameras and ~605,000 coverage cells
(H3 res 12 over 12 km x 12 km at 60 N; more than the 456,000 the issue names), and time to a
what-if update on the sample.

"First useful paint": from navigation to the page's first layer refresh done (grids,
coverage cells, cameras and blind spots drawn: body[data-ready]). "Cold": a fresh server
process on the store and a fresh browser profile (empty HTTP cache), first navigation.
"Warm": the same server and profile, the page loaded again (assets from the browser cache,
server arrays in memory); median of 3. Every outside request is aborted and counted.

Each store is measured three ways in the same run: started as ``gridcover serve`` (warms the
web app before it listens; the start-up time printed includes that) the first time, then again
(a restart: the zoom arrays come from the data folder's disk copy), and started the old way
(``uvicorn --factory gridcover.api.app:create_app`` without a disk copy: no warm-up, the
first page pays it).
"What-if update": from the click on "disable" to the KPI table of the new scenario shown.

    python benchmarks/bench_app.py            # sample + 100k cameras / 605k cells
    python benchmarks/bench_app.py --sample   # sample only
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from api_server import live_server
from webapp_browser import (
    LOOPBACK,
    SAMPLE,
    Log,
    chromium_executable,
    make_keys,
    scale_store,
    wait_jobs,
)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


@contextmanager
def server(data: Path, how: str) -> Iterator[tuple[str, float]]:
    """A fresh server process on ``data`` ("serve": gridcover serve; "factory": the uvicorn
    factory without warm-up); yields (base URL, seconds until it answered)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRIDCOVER_DATA_DIR": str(data), "GRIDCOVER_LOAD_SAMPLE": "0"}
    if how == "serve":
        cmd = [sys.executable, "-m", "gridcover", "serve", "--host", "127.0.0.1", "--port",
               str(port), "--no-sample", "--log-level", "warning"]  # fmt: skip
    else:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "gridcover.api.app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{how} exited with code {proc.returncode}")
            try:
                httpx.get(base + "/conformance", timeout=2)  # 401 once keys exist: answering
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def profile(p: Any, chromium: str, key: str, log: Log) -> Iterator[Any]:
    """A fresh browser profile (own temporary user-data folder: empty cache) signed in."""
    with tempfile.TemporaryDirectory() as folder:
        ctx = p.chromium.launch_persistent_context(
            folder, executable_path=chromium, args=["--no-sandbox"], headless=True,
            viewport={"width": 1280, "height": 860}, locale="zh-CN",
        )  # fmt: skip

        def route(r: Any) -> None:
            if r.request.url.startswith(LOOPBACK):
                r.continue_()
            else:
                log.outside.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        ctx.add_init_script(f"sessionStorage.setItem('gridcover.key', '{key}')")
        try:
            yield ctx
        finally:
            ctx.close()


def paint(page: Any, base: str) -> tuple[float, dict[str, Any]]:
    t = time.perf_counter()
    page.goto(f"{base}/app/")
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=180_000)
    return time.perf_counter() - t, page.evaluate("window.gridcover.look.lastView")


def paints(p: Any, chromium: str, base: str, key: str) -> tuple[float, list[float], Any, Log]:
    """Cold paint (fresh profile) then 3 warm paints in the same profile."""
    log = Log()
    with profile(p, chromium, key, log) as ctx:
        page = ctx.new_page()
        page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
        n_req: list[str] = []
        page.on("request", lambda r: n_req.append(r.url))
        cold, view = paint(page, base)
        view["http_requests"] = len(n_req)
        warm = [paint(page, base)[0] for _ in range(3)]
    return cold, warm, view, log


def whatif_updates(p: Any, chromium: str, base: str, key: str, camera: str) -> list[float]:
    log = Log()
    with profile(p, chromium, key, log) as ctx:
        page = ctx.new_page()
        paint(page, base)
        page.click('[data-tab="whatif"]')
        page.fill("#search", camera)
        page.click("#search-go")
        page.wait_for_selector("[data-testid=wi-toggle]")
        out = []
        for i in range(6):
            t = time.perf_counter()
            page.click("[data-testid=wi-toggle]")
            page.wait_for_function(f"document.body.dataset.whatif === '{i + 1}'", timeout=60_000)
            out.append(time.perf_counter() - t)
    return out


def measure(p: Any, chromium: str, data: Path, key: str, label: str) -> None:
    print(f"{label}, Chromium headless 1280x860")
    modes = (("serve", True, "gridcover serve, first start (warm-up before listening)"),
             ("serve", False, "gridcover serve, restart (zoom arrays read from disk)"),
             ("factory", True, "old start (no warm-up)"))  # fmt: skip
    for how, fresh, name in modes:
        if fresh:  # no zoom arrays on disk from an earlier start
            shutil.rmtree(data / "cache", ignore_errors=True)
        with server(data, how) as (base, started):
            cold, warm, view, log = paints(p, chromium, base, key)
        print(f"  {name}: server answered after {started:.2f} s; {load()}")
        print(f"    first useful paint cold {cold:.2f} s ({view['http_requests']} HTTP requests, "
              f"{view['requests']} data requests, {view['features']} features), warm median "
              f"{statistics.median(warm):.2f} s (runs {', '.join(f'{w:.2f}' for w in warm)}); "
              f"outside requests {len(log.outside)}, console errors {len(log.errors)}")  # fmt: skip


def main() -> None:
    chromium = chromium_executable()
    if chromium is None:
        raise SystemExit("needs Chromium (apt-get install chromium) and playwright")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        data = Path(tmp) / "sample"
        with live_server(
            data, load_sample="1", sample_dir=str(SAMPLE), sample_analyses="1"
        ) as base:
            keys = make_keys(data)
            wait_jobs(base, keys["planner"])
        measure(p, chromium, data, keys["planner"], "sample (221 cameras, 7,055 cells at res 12)")
        with server(data, "serve") as (base, _):
            times = whatif_updates(p, chromium, base, keys["planner"], "osm-256257146")
        print(f"  what-if update (disable/enable one camera, {len(times)} times): median "
              f"{statistics.median(times):.2f} s, first {times[0]:.2f} s, "
              f"max {max(times):.2f} s; {load()}")  # fmt: skip
        if "--sample" in sys.argv:
            return
        big = Path(tmp) / "big"
        t = time.perf_counter()
        cells = scale_store(big, cameras=100_000, cell_res=12)
        print(f"100,000 cameras + {cells:,} cells stored in {time.perf_counter() - t:.1f} s")
        keys = make_keys(big)
        measure(p, chromium, big, keys["planner"], f"100,000 cameras + {cells:,} cells")


if __name__ == "__main__":
    main()
