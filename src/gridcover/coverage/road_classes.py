"""Road classes of any origin -> the weight classes of the weights file.

A roads layer may come from OpenStreetMap (``highway`` values), from a city's own street
centreline file (its own class vocabulary or none at all) or from a Chinese surveying
department (道路等级 names or codes). ``weight_classes`` turns each road's source class
into the class the weights know, per road and independently of the other roads (so a
partition of a layer gets the same answer):

1. the weights' class map (``[roads.class_map]``: source value -> weight class; matched
   after trimming, case-insensitively) renames the value; the packaged defaults map the
   Chinese urban road grades (快速路, 主干路, 次干路, 支路), the highway grades (高速公路,
   一级公路 ... 四级公路) and the US functional classes (Interstate, Principal Arterial,
   Minor Arterial, Collector, Local);
2. a value the weights list (``[roads.class_weights]``) or that is an OSM ``highway`` value
   is kept as is (OSM values the weights do not list weigh ``[roads] default``);
3. any other value is not OSM's: the road counts as an ordinary road, class
   ``[roads] other_class`` (default ``residential``: weight 1.5, forms intersections, which
   are found from the geometry where ≥ 3 road pieces meet). One note says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.weights import Weights

__all__ = ["OSM_HIGHWAY", "RoadClasses", "road_class_note", "weight_classes"]

# Every value of the OSM ``highway`` key that tags a way (wiki "Key:highway", 2024).
OSM_HIGHWAY = frozenset(
    (
        "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
        "residential", "motorway_link", "trunk_link", "primary_link", "secondary_link",
        "tertiary_link", "living_street", "service", "pedestrian", "track", "bus_guideway",
        "escape", "raceway", "road", "busway", "footway", "bridleway", "steps", "corridor",
        "path", "via_ferrata", "cycleway", "construction", "proposed", "platform", "elevator",
        "rest_area", "services", "crossing", "trail", "abandoned", "disused",
    )
)  # fmt: skip


def _key(value: object) -> str:
    return " ".join(str(value).split()).casefold()


@dataclass(frozen=True)
class RoadClasses:
    """Per road: ``classes`` (weight class names), ``source`` (the class as given),
    ``mapped`` (True where the class map renamed it) and ``other`` (True where the value is
    neither OSM's nor mapped, so the road counts as ``other_class``)."""

    classes: np.ndarray
    source: np.ndarray
    mapped: np.ndarray
    other: np.ndarray
    other_class: str

    def note(self) -> str | None:
        """One sentence about the roads counted as ordinary roads (None when there are none)."""
        if not self.other.any():
            return None
        vals = pd.Series(self.source[self.other]).value_counts()
        shown = ", ".join(f"'{v}' ({n})" for v, n in vals.head(6).items())
        more = f" and {len(vals) - 6} more" if len(vals) > 6 else ""
        return (
            f"roads: {int(self.other.sum())} of {self.other.size} road lines have a class that "
            f"is not an OSM highway value and not in the class map ({shown}{more}); they count "
            f"as ordinary roads ('{self.other_class}'), and intersections are found from the "
            "geometry (nodes where 3 or more road pieces meet). To weigh main roads higher, "
            "map the source classes in [roads.class_map] of a weights file (docs/COVERAGE.md)."
        )


def weight_classes(source: Iterable[object], weights: Weights) -> RoadClasses:
    """Weight class per road from its source class (see the module doc); pure, per road."""
    src = np.asarray(
        ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in source],
        dtype=object,
    )
    cmap = {_key(k): v for k, v in weights.road_class_map.items()}
    keys = np.array([_key(v) for v in src], dtype=object)
    mapped_to = np.array([cmap.get(k) for k in keys], dtype=object)
    mapped = np.array([m is not None for m in mapped_to], dtype=bool)
    out = np.where(mapped, mapped_to, src).astype(object)
    known = set(weights.road_classes) | OSM_HIGHWAY
    other = ~mapped & ~np.isin(out.astype(str), list(known))
    out[other] = weights.road_other_class
    return RoadClasses(out.astype(str), src, mapped, other, weights.road_other_class)


def road_class_note(roads: gpd.GeoDataFrame | None, weights: Weights) -> tuple[str, ...]:
    """The note of ``weight_classes`` for a roads GeoDataFrame (``class`` column), or ()."""
    if roads is None or "class" not in roads.columns:
        return ()
    note = weight_classes(roads["class"].to_numpy(), weights).note()
    return () if note is None else (note,)
