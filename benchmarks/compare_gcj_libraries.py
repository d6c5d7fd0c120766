"""Compare GCJ-02 / BD-09 libraries: forward agreement, inverse error in metres, speed.

Run: ``python -m benchmarks.compare_gcj_libraries`` (or as a script from the repo root).
Libraries not installed are skipped; to run them all:
``pip install prcoords eviltransform pygcj geocoordinates-rs coordtransform``.
Prints the Markdown table kept in docs/CRS.md. Reference forward: coordtransform's C batch.
"""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import Callable

import numpy as np
from pyproj import Geod

N = 20_000
GEOD = Geod(ellps="WGS84")
Row = tuple[str, float, np.ndarray, np.ndarray | None, float, float]


def metres(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray) -> np.ndarray:
    return np.asarray(GEOD.inv(x1, y1, x2, y2)[2])


def loop(f: Callable[[float, float], tuple[float, float]], xs: np.ndarray, ys: np.ndarray):
    t = time.perf_counter()
    out = np.array([f(float(a), float(b)) for a, b in zip(xs, ys, strict=True)]).T
    return out, len(xs) / (time.perf_counter() - t)


def main() -> None:
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(20240601)
    lon, lat = rng.uniform(74.0, 134.5, N), rng.uniform(18.0, 53.0, N)
    import coordTransform as ct

    glon, glat = (np.asarray(a) for a in ct.wgs84_to_gcj02(lon, lat))
    blon, blat = (np.asarray(a) for a in ct.gcj02_to_bd09(glon, glat))
    rows: list[Row] = []

    def add(name: str, fwd, inv, bd_inv, fwd_speed: float, inv_speed: float) -> None:
        f_err = metres(fwd[0], fwd[1], glon[: fwd.shape[1]], glat[: fwd.shape[1]]).max()
        n = inv.shape[1]
        i_err = metres(inv[0], inv[1], lon[:n], lat[:n])
        b_err = None if bd_inv is None else metres(bd_inv[0], bd_inv[1], lon, lat)
        rows.append((name, f_err, i_err, b_err, fwd_speed, inv_speed))

    from gridcover.gis import chinese_offsets as co

    t = time.perf_counter()
    f = np.array(co.wgs84_to_gcj02(lon, lat))
    fs = N / (time.perf_counter() - t)
    t = time.perf_counter()
    i = np.array(co.gcj02_to_wgs84(glon, glat))
    add(
        "gridcover (coordtransform fwd + numpy fixed point)",
        f,
        i,
        np.array(co.bd09_to_wgs84(blon, blat)),
        fs,
        N / (time.perf_counter() - t),
    )

    t = time.perf_counter()
    f = np.array(ct.wgs84_to_gcj02(lon, lat))
    fs = N / (time.perf_counter() - t)
    t = time.perf_counter()
    i = np.array(ct.gcj02_to_wgs84(glon, glat))
    add(
        "coordtransform 0.2.1 gcj02_to_wgs84 (C batch, one step)",
        f,
        i,
        np.array(ct.bd09_to_wgs84(blon, blat)),
        fs,
        N / (time.perf_counter() - t),
    )

    def maybe(module: str):
        try:
            return importlib.import_module(module)
        except ImportError:
            print(f"(skipped {module}: not installed)")
            return None

    if pr := maybe("prcoords"):
        f, fs = loop(lambda a, b: pr.wgs_gcj((b, a), False)[::-1], lon, lat)
        i, is_ = loop(lambda a, b: pr.gcj_wgs_bored((b, a))[::-1], glon, glat)
        bi, _ = loop(lambda a, b: pr.bd_wgs_bored((b, a))[::-1], blon, blat)
        add("prcoords 1.0.2 gcj_wgs_bored (iterative)", f, i, bi, fs, is_)
    if ev := maybe("eviltransform"):
        f, fs = loop(lambda a, b: ev.wgs2gcj(b, a)[::-1], lon, lat)
        i, is_ = loop(lambda a, b: ev.gcj2wgs_exact(b, a)[::-1], glon, glat)
        bi, _ = loop(lambda a, b: ev.bd2wgs(b, a)[::-1], blon, blat)
        add("eviltransform 0.1.1 gcj2wgs_exact (bisection; bd2wgs one step)", f, i, bi, fs, is_)
    if gc := maybe("geocoordinates_ffi"):
        f, fs = loop(
            lambda a, b: (lambda p: (p.lon, p.lat))(gc.wgs84_to_gcj02(gc.Wgs84(lat=b, lon=a))),
            lon,
            lat,
        )
        i, is_ = loop(
            lambda a, b: (lambda p: (p.lon, p.lat))(
                gc.gcj02_to_wgs84_refined(gc.Gcj02(lat=b, lon=a))
            ),
            glon,
            glat,
        )
        bi, _ = loop(
            lambda a, b: (lambda p: (p.lon, p.lat))(
                gc.bd09_to_wgs84_refined(gc.Bd09(lat=b, lon=a))
            ),
            blon,
            blat,
        )
        add("geocoordinates-rs 0.14.2 *_refined (scalar FFI)", f, i, bi, fs, is_)
    if maybe("pygcj") is not None:
        from pygcj.pygcj import GCJProj

        proj, n = GCJProj(), 2000
        f, fs = loop(lambda a, b: proj.wgs_to_gcj(b, a)[::-1], lon[:n], lat[:n])
        i, is_ = loop(lambda a, b: proj.gcj_to_wgs(b, a)[::-1], glon[:n], glat[:n])
        add("pygcj 0.0.2 (control-point corrected, n=2000)", f, i, None, fs, is_)

    print(f"{N} random points, lon 74-134.5 E, lat 18-53 N; errors are geodesic metres.\n")
    print(
        "| library / inverse | forward vs reference, max (m) | GCJ-02->WGS84 inverse error "
        "median / p99 / max (m) | BD-09->WGS84 max (m) | forward points/s | inverse points/s |"
    )
    print("|---|---|---|---|---|---|")
    for name, f_err, i_err, b_err, fs, is_ in rows:
        inv = f"{np.median(i_err):.2g} / {np.percentile(i_err, 99):.2g} / {i_err.max():.2g}"
        bd = "n/a" if b_err is None else f"{b_err.max():.2g}"
        print(f"| {name} | {f_err:.2g} | {inv} | {bd} | {fs:,.0f} | {is_:,.0f} |")


if __name__ == "__main__":
    main()
