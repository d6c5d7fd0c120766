"""Web app speed in headless Chromium (prints; not a test): time to first useful paint and to
a what-if update on the bundled sample, and first paint and features per view on a store of
100,000 cameras and ~605,000 coverage cells (H3 res 12 over 12 km x 12 km at 60 N; more
than the 456,000 the issue names).

Runs a real server (uvicorn) and Playwright on /usr/bin/chromium with every outside request
aborted. "First useful paint": from navigation to the page's first layer refresh done
(grids, cells, cameras and blind spots drawn: body[data-ready]). "What-if update": from the
click on "disable" to the KPI table of the new scenario shown.

    python benchmarks/bench_app.py            # sample + 100k cameras / 605k cells
    python benchmarks/bench_app.py --sample   # sample only
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from api_server import live_server
from webapp_browser import (
    SAMPLE,
    Log,
    browser,
    chromium_executable,
    make_keys,
    new_context,
    scale_store,
    wait_jobs,
)


def first_paint(b: Any, base: str, key: str) -> tuple[float, dict[str, Any], Log]:
    log = Log()
    ctx = new_context(b, log)
    ctx.add_init_script(f"sessionStorage.setItem('gridcover.key', '{key}')")
    page = ctx.new_page()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    t = time.perf_counter()
    page.goto(f"{base}/app/")
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=120_000)
    took = time.perf_counter() - t
    view = page.evaluate("window.gridcover.look.lastView")
    ctx.close()
    return took, view, log


def whatif_updates(b: Any, base: str, key: str, camera: str, n: int = 6) -> list[float]:
    log = Log()
    ctx = new_context(b, log)
    ctx.add_init_script(f"sessionStorage.setItem('gridcover.key', '{key}')")
    page = ctx.new_page()
    page.goto(f"{base}/app/")
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)
    page.click('[data-tab="whatif"]')
    page.fill("#search", camera)
    page.click("#search-go")
    page.wait_for_selector("[data-testid=wi-toggle]")
    out = []
    for i in range(n):
        t = time.perf_counter()
        page.click("[data-testid=wi-toggle]")
        page.wait_for_function(f"document.body.dataset.whatif === '{i + 1}'", timeout=60_000)
        out.append(time.perf_counter() - t)
    ctx.close()
    return out


def main() -> None:
    chromium = chromium_executable()
    if chromium is None:
        raise SystemExit("needs Chromium (apt-get install chromium) and playwright")
    with tempfile.TemporaryDirectory() as tmp, browser(chromium) as b:
        data = Path(tmp) / "sample"
        with live_server(
            data, load_sample="1", sample_dir=str(SAMPLE), sample_analyses="1"
        ) as base:
            keys = make_keys(data)
            wait_jobs(base, keys["planner"])
            print("sample (221 cameras, 7,055 cells at res 12), Chromium headless, 1280x860")
            for run in ("cold", "warm"):
                took, view, log = first_paint(b, base, keys["planner"])
                print(f"  first useful paint ({run}): {took:.2f} s; {view['requests']} "
                      f"requests, {view['features']} features; outside requests "
                      f"{len(log.outside)}, console errors {len(log.errors)}")  # fmt: skip
            times = whatif_updates(b, base, keys["planner"], "osm-256257146")
            print(f"  what-if update (disable/enable one camera, {len(times)} times): median "
                  f"{statistics.median(times):.2f} s, first {times[0]:.2f} s, "
                  f"max {max(times):.2f} s")  # fmt: skip
        if "--sample" in sys.argv:
            return
        big = Path(tmp) / "big"
        t = time.perf_counter()
        cells = scale_store(big, cameras=100_000, cell_res=12)
        print(f"100,000 cameras + {cells:,} cells stored in {time.perf_counter() - t:.1f} s")
        with live_server(big) as base:
            keys = make_keys(big)
            for run in ("cold", "warm"):
                took, view, log = first_paint(b, base, keys["planner"])
                print(f"  first useful paint ({run}): {took:.2f} s; {view['requests']} "
                      f"requests, {view['features']} features {view['perLayer']}; outside "
                      f"{len(log.outside)}, console errors {len(log.errors)}")  # fmt: skip


if __name__ == "__main__":
    main()
