"""Names of work units from the source layers: streets, cross streets, sites, grids.

All geometry in one metric CRS. A road unit is "Street between A and B" (the streets that
cross it at the intersections bounding its stretch); an unnamed road line takes the nearest
named street ("service road by Street"), so every road unit carries a street name whenever
the roads layer has any name at all.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["StreetNames"]


def _clean(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


class StreetNames:
    """Street names around points and along lines of a roads layer (metric CRS)."""

    def __init__(self, lines: np.ndarray, names: np.ndarray, classes: np.ndarray) -> None:
        self.lines = np.asarray(lines, dtype=object)
        self.names = np.array([_clean(n) for n in names], dtype=object)
        self.classes = np.asarray(classes, dtype=object)
        self.tree = shapely.STRtree(self.lines) if len(self.lines) else None
        named = np.flatnonzero(self.names != "")
        self.named = named
        self.named_tree = shapely.STRtree(self.lines[named]) if named.size else None

    def at(self, xy: np.ndarray, within_m: float = 3.0) -> list[str]:
        """Distinct street names of the lines within ``within_m`` of the point (x, y)."""
        if self.tree is None:
            return []
        hit = self.tree.query(shapely.points(*xy), predicate="dwithin", distance=within_m)
        out: list[str] = []
        for n in self.names[np.sort(hit)]:
            if n and n not in out:
                out.append(n)
        return out

    def street_of(self, line: int) -> tuple[str, bool]:
        """(street name, own) of a line: its own name, else the nearest named line's."""
        own = self.names[line]
        if own:
            return str(own), True
        if self.named_tree is None:
            return "", False
        j = self.named_tree.query_nearest(self.lines[line], all_matches=False)
        return str(self.names[self.named[int(np.ravel(j)[-1])]]), False

    def nearest(self, xy: np.ndarray, max_m: float) -> str:
        """The nearest named street within ``max_m`` of the point, or ''."""
        if self.named_tree is None:
            return ""
        (_, j), d = self.named_tree.query_nearest(
            np.array([shapely.points(*xy)]), return_distance=True, all_matches=False
        )
        return str(self.names[self.named[int(j[0])]]) if d.size and d[0] <= max_m else ""

    def road_name(self, line: int, ends: tuple[np.ndarray | None, np.ndarray | None]) -> str:
        """'Street between A and B' for the stretch of ``line`` between the two end nodes."""
        street, own = self.street_of(line)
        if not street:
            return f"unnamed {self.classes[line]}"
        base = street if own else f"{self.classes[line]} by {street}"
        cross = [
            next((n for n in self.at(e) if n != street), "") if e is not None else "" for e in ends
        ]
        a, b = cross
        if a and b and a != b:
            return f"{base} between {a} and {b}"
        if a or b:
            return f"{base} at {a or b}"
        return base

    def crossing_name(self, xy: np.ndarray) -> str:
        """'A / B' for an intersection node (the streets that meet there)."""
        names = self.at(xy)
        return " / ".join(names) if names else ""
