"""Sweep: does the compactness floor hold for 3 and 4 posts within 70 m of a real station?

Real Chicago data (tests/data/chicago-cameras-police): area = the 25 police districts of
2014, posts = the 23 real stations plus 2 or 3 extra posts placed within 70 m of the station
of one district (positions by pyproj's geodesic ``Geod.fwd``, as tests/test_patrol_close.py
does). Layouts of the extra posts around the station (azimuth in degrees, distance in metres):

* ``spread``: evenly around it at 70 m;
* ``fan``: on one side, 40° apart, at 70, 45 and 25 m;
* ``line``: in a row due east at 70·j/m m (collinear with the station).

Each layout runs in several districts, at H3 res 9 and 10, with the districts as boundary
and without. Per case it prints: the lowest Polsby-Popper of the close posts' zones (the
plan's own figure and, independently, 4πA/P² of the zone outlines in UTM with shapely),
whether every such zone is H3-contiguous and holds its post (its post's cell, or a cell next
to it when another post took that cell), the area and workload ratios (max/min)
among those in the station's boundary region, and why a case misses the floor (read from
the plan: no split kept, or the best split below the floor with the Polsby-Popper of the
area the close posts share; exclaves).
A summary counts the misses. No assertions (tests/test_patrol_floor.py asserts).

Run: ``python -m benchmarks.sweep_patrol_close [--res 9 10] [--districts 2 8 12 18]``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyproj

from gridcover.coverage.patrol.compactness import DEFAULT_MIN_COMPACTNESS
from gridcover.coverage.patrol.plan import PatrolConfig, PatrolRun, plan_patrol
from gridcover.gis import read_layer

CHI = Path(__file__).resolve().parents[1] / "tests" / "data" / "chicago-cameras-police"
GEOD = pyproj.Geod(ellps="WGS84")
LAYOUTS = ("spread", "fan", "line")


def offsets(layout: str, extra: int) -> list[tuple[float, float]]:
    """(azimuth °, distance m) of each extra post from the station."""
    if layout == "spread":
        return [(360.0 * j / extra, 70.0) for j in range(extra)]
    if layout == "fan":
        return [
            (200.0 + 40.0 * j, d) for j, d in zip(range(extra), (70.0, 45.0, 25.0), strict=False)
        ]
    return [(90.0, 70.0 * (j + 1) / extra) for j in range(extra)]


def posts_near(district: str, layout: str, extra: int) -> gpd.GeoDataFrame:
    """The real stations plus ``extra`` posts near the station of ``district``."""
    df = pd.read_csv(CHI / "police_stations.csv", encoding="utf-8-sig")
    st = df[df["DISTRICT"].astype(str) == district].iloc[0]
    rows = []
    for j, (az, d) in enumerate(offsets(layout, extra)):
        lon, lat, _ = GEOD.fwd(st["LONGITUDE"], st["LATITUDE"], az, d)
        row = st.copy()
        row["DISTRICT"] = f"{district}{'abc'[j]}"
        row[["LONGITUDE", "LATITUDE"]] = [lon, lat]
        row[["X COORDINATE", "Y COORDINATE", "LOCATION"]] = None
        rows.append(row)
    out = pd.concat([df, pd.DataFrame(rows)], ignore_index=True)
    path = Path(f"/tmp/sweep_close_{district}_{layout}_{extra}.csv")
    out.to_csv(path, index=False)
    return read_layer(path, "posts")


@dataclass(frozen=True)
class CaseFigures:
    """What one case measured (close posts' zones only)."""

    pp_plan: float
    pp_utm: float
    contiguous: bool
    holds_post: bool
    area_ratio: float
    work_ratio: float
    why: str


def utm_pp(zones: gpd.GeoDataFrame) -> np.ndarray:
    """4πA/P² of each zone outline in the local UTM CRS (shapely area and length)."""
    g = zones.geometry.to_crs(zones.estimate_utm_crs())
    return np.asarray(4 * np.pi * g.area / g.length**2)


def h3_contiguous(hexes: list[str]) -> bool:
    """Whether the cells form one piece by h3 adjacency (breadth-first, h3's own rings)."""
    if not hexes:
        return False
    todo, seen, s = [hexes[0]], {hexes[0]}, set(hexes)
    while todo:
        for n in h3.grid_ring(todo.pop(), 1):
            if n in s and n not in seen:
                seen.add(n)
                todo.append(n)
    return len(seen) == len(s)


def measure(run: PatrolRun, group: list[str], posts: gpd.GeoDataFrame) -> CaseFigures:
    """Figures of the close posts' zones of one run (see the module docstring)."""
    plan = run.plan
    z = plan.zones.set_index("post_id").loc[group]
    cells = plan.cells
    by_post = {p: cells.loc[cells["post_id"] == p, "h3"].tolist() for p in group}
    at = posts.set_index("post_id").geometry
    holds = True
    for p in group:
        own = h3.latlng_to_cell(at[p].y, at[p].x, plan.res)
        mine = set(by_post[p])
        owner = cells.set_index("h3")["post_id"].get(own)
        if own in mine or owner is None:
            continue
        # the post's cell went to another post (of the group, or across a district line):
        # its zone must touch that cell
        holds &= any(n in mine for n in h3.grid_ring(own, 1))
    # balance among the close posts that share the station's boundary region (a post placed
    # across a district line is in another region, with a zone of its own there)
    same = [p for p in group if z.loc[p, "region"] == z.loc[group[0], "region"]]
    area = np.array([sum(h3.cell_area(c, "m^2") for c in by_post[p]) for p in same])
    work = z.loc[same, "workload"].to_numpy(float)
    a = plan.assignment
    names = list(plan.zones["post_id"])
    idx = {names.index(p) for p in group}
    floor = a.min_compactness
    pp_plan = float(z["polsby_popper"].min())
    why = ""
    if pp_plan < floor:
        kept = [s for s in a.close if idx & set(s.posts)]
        if not kept:
            why = "no split kept"
        else:
            why = f"best split below floor; shared area scores {kept[0].union_pp:.2f}"
        if (z["exclaves"] > 0).any():
            why += " (exclaves)"
    return CaseFigures(
        pp_plan,
        float(utm_pp(plan.zones.set_index("post_id").loc[group]).min()),
        all(h3_contiguous(by_post[p]) for p in group),
        bool(holds),
        float(area.max() / area.min()) if area.min() > 0 else float("inf"),
        float(work.max() / work.min()) if work.min() > 0 else float("inf"),
        why,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=int, nargs="+", default=[9, 10])
    ap.add_argument("--districts", nargs="+", default=["2", "8", "12", "18"])
    ap.add_argument("--extra", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--min-compactness", type=float, default=DEFAULT_MIN_COMPACTNESS)
    args = ap.parse_args()
    dist = read_layer(CHI / "police_districts_2014.geojson", "grids", duplicates="keep")
    print(
        f"{'district':>8} {'layout':>6} {'posts':>5} {'res':>3} {'bound.':>6} {'PP plan':>7} "
        f"{'PP utm':>6} {'contig':>6} {'holds':>5} {'area r':>6} {'work r':>6} "
        f"{'s':>5}  why"
    )
    misses, total, worst = 0, 0, []
    for res in args.res:
        for d in args.districts:
            for extra in args.extra:
                for layout in LAYOUTS:
                    posts = posts_near(d, layout, extra)
                    group = [d, *[f"{d}{'abc'[j]}" for j in range(extra)]]
                    for bound in (True, False):
                        t0 = time.perf_counter()
                        cfg = PatrolConfig(
                            res=res, reach=False, min_compactness=args.min_compactness
                        )
                        run = plan_patrol(dist, posts, cfg, boundary=dist if bound else None)
                        f = measure(run, group, posts)
                        dt = time.perf_counter() - t0
                        total += 1
                        miss = not (
                            f.pp_utm >= args.min_compactness and f.contiguous and f.holds_post
                        )
                        misses += miss
                        worst.append(f.area_ratio)
                        print(
                            f"{d:>8} {layout:>6} {extra + 1:>5} {res:>3} "
                            f"{'yes' if bound else 'no':>6} "
                            f"{f.pp_plan:>7.3f} {f.pp_utm:>6.3f} {f.contiguous!s:>6} "
                            f"{f.holds_post!s:>5} {f.area_ratio:>6.2f} {f.work_ratio:>6.2f} "
                            f"{dt:>5.1f}  {'MISS ' if miss else ''}{f.why}",
                            flush=True,
                        )
    print(
        f"\n{misses} of {total} cases miss the floor {args.min_compactness:.2f} (UTM "
        f"Polsby-Popper), contiguity or their post; area ratio among close posts: median "
        f"{np.median(worst):.2f}, max {max(worst):.2f}"
    )


if __name__ == "__main__":
    main()
