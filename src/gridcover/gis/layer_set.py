"""Read every layer of a run together, and settle the coordinate system of lon/lat points in
China against the other layers (no silent offsets).

``read_layers`` is what every workflow that takes several files calls (analyze, patrol,
site; the upload of a dataset): each layer is read with its ``LayerOptions``, then point
layers without a declared coordinate system are checked with :func:`.offset_fit.fit_offsets`.
A clearly better system is applied (the layer is read again with it) and stated first in
``decisions``; unclear evidence stops the run with an error naming the flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from gridcover.errors import CRSError
from gridcover.gis.io import read_layer
from gridcover.gis.offset_fit import FLAGS, OffsetFit, fit_offsets, undeclared_china_points
from gridcover.gis.profile import LayerOptions


@dataclass(frozen=True)
class LayerSet:
    """Layers read for one run: ``layers`` by kind, the ``decisions`` that change the answer
    (stated first in every output) and the aggregated reading ``notes``."""

    layers: Mapping[str, gpd.GeoDataFrame]
    decisions: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)


def read_layers(
    paths: Mapping[str, str | Path],
    options: Mapping[str, LayerOptions] | None = None,
    *,
    read_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
    check_offsets: bool = True,
    references: Mapping[str, gpd.GeoDataFrame | None] | None = None,
) -> LayerSet:
    """Read ``paths`` ({kind: file}) with ``options`` ({kind: LayerOptions}); settle offsets.

    ``read_kwargs`` adds other ``read_layer`` arguments per kind (e.g. ``duplicates``);
    ``references`` ({kind: layer}) are layers already read (e.g. an analysis folder's grids)
    that count as evidence for the offset check too.
    Raises CRSError naming ``--coord-sys KIND:SYSTEM`` when points in China have no declared
    coordinate system and the other layers cannot tell which one they use.
    """
    opts = dict(options or {})
    extra = dict(read_kwargs or {})

    def read(kind: str, **more: Any) -> gpd.GeoDataFrame:
        kw = {**opts.get(kind, LayerOptions()).kwargs(), **extra.get(kind, {}), **more}
        return read_layer(paths[kind], kind, **kw)

    layers = {kind: read(kind) for kind in paths}
    decisions: list[str] = []
    params: dict[str, Any] = {}
    for kind in undeclared_china_points(layers) if check_offsets else []:
        evidence = {**{k: v for k, v in (references or {}).items() if v is not None}, **layers}
        fit = settle_offsets(kind, layers[kind], evidence, Path(paths[kind]).name)
        if fit is None:
            continue
        params[f"{kind}_coord_sys"] = fit.best
        params[f"{kind}_coord_sys_fit_m"] = dict(fit.median_m)
        if fit.best != "wgs84":
            layers[kind] = read(kind, coord_sys=fit.best)
        decisions.append(offset_decision(kind, fit, Path(paths[kind]).name))
    notes = [
        f"{Path(paths[k]).name}: {n}"
        for k, g in layers.items()
        for n in g.attrs.get("gridcover", {}).get("notes", [])
    ]
    # defaults filling required columns change the answer too: they come first as well
    decisions += [f"default applied: {n}" for n in notes if " row(s) without " in n]
    return LayerSet(layers, tuple(decisions), tuple(notes), params)


def settle_offsets(
    kind: str,
    points: gpd.GeoDataFrame,
    others: Mapping[str, gpd.GeoDataFrame],
    name: str,
    flag: str = "--coord-sys {kind}:{system}",
) -> OffsetFit | None:
    """The fit of ``points`` (a ``kind`` layer read as WGS84 from file ``name``) to
    ``others``; None when there is nothing to compare with. Raises CRSError naming the
    ``flag`` (formatted with kind and system) when the evidence is unclear."""
    fit = fit_offsets(points, others)
    if fit.best is not None:
        return fit
    if not fit.median_m:  # nothing to compare with: the reader's hint stays a note
        return None
    ways = ", ".join(
        flag.format(kind=kind, system=s) + f" ({w})"
        for s, w in (("gcj02", "AMap/Tencent"), ("bd09", "Baidu"), ("wgs84", "GPS"))
    )
    raise CRSError(
        f"{name}: the {kind} lie in China and declare no coordinate system, and the other "
        f"layers cannot tell which one they use ({fit.reason}; {fit.describe()}). Say which "
        f"with {ways} (Python: coord_sys=; profile: coord_sys under [{kind}])."
    )


def offset_decision(kind: str, fit: OffsetFit, name: str) -> str:
    """The sentence that states the coordinate system chosen for a layer, first in outputs."""
    if fit.best == "wgs84":
        return (
            f"coordinate system: {name} ({kind}) kept as WGS84, checked by fit ({fit.describe()})"
        )
    return (
        f"coordinate system: {name} ({kind}) read as {FLAGS[fit.best or '']} and converted to "
        f"WGS84, chosen by fit ({fit.describe()}); pass --coord-sys {kind}:wgs84 to refuse"
    )
