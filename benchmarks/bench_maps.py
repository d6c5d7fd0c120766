"""Map size and load time with and without the feature budget (prints; not a test).

Builds the sample map at H3 res 12 and 13, with the 5,000-feature budget and without it,
opens each in headless Chromium (network blocked, see tests/chromium_cdp.py) and prints the
HTML size, build time, the load-event time and the number of SVG paths drawn.

    python benchmarks/bench_maps.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from chromium_cdp import open_page, serve_folder
from gridcover.gis.maps import build_map
from sample_analysis import sample_layers, sample_result

READY = "!!document.querySelector('.leaflet-overlay-pane svg path')"
PROBES = {
    "paths": "document.querySelectorAll('.leaflet-overlay-pane svg path').length",
    "load": "performance.getEntriesByType('navigation')[0].loadEventEnd",
}


def main() -> None:
    lay = sample_layers()
    for res in (12, 13):
        result = sample_result(res)
        for budget in (5000, 10**7):
            t = time.perf_counter()
            m = build_map(grids=result.grid_stats, cells=result.cells,
                          blind_spots=result.blind_spots, views=result.views,
                          cameras=lay["cameras"], posts=lay["posts"], budget=budget)  # fmt: skip
            html = m.html()
            built = time.perf_counter() - t
            folder = Path(tempfile.mkdtemp())
            (folder / "m.html").write_text(html, encoding="utf-8")
            with serve_folder(folder) as (base, _):
                rep = open_page(f"{base}/m.html", ready=READY, expressions=PROBES, settle_s=0.1)
            cells = next(o.n_features for o in m.overlays if o.key == "cells")
            print(f"res {res}, budget {budget if budget < 10**7 else 'off'}: "
                  f"{len(result.cells)} cells -> {cells} drawn, HTML {len(html) / 1e6:.1f} MB, "
                  f"build {built:.2f} s, load event {rep.values['load'] / 1000:.2f} s, "
                  f"SVG paths {rep.values['paths']}")  # fmt: skip


if __name__ == "__main__":
    main()
