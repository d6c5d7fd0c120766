"""Street network from a roads layer: noded at intersections, lengths in metres, speeds per mode.

The roads layer (canonical columns ``road_id``, ``class``, ``name``; EPSG:4326) is projected to
a local metric CRS and **planar-noded**: every place where two road lines touch or cross becomes
a node, and every piece between two nodes becomes an undirected edge whose length is its
length in metres. Planar noding is robust for Chinese and municipal road layers that are not
topologically clean; its known simplification is that a bridge over a road becomes a junction.
Nodes closer than ``snap_m`` metres are then merged (digitising gaps at junctions); a line
end that stops short of the middle of another line is not joined to it.

Travel times come from per-mode speeds (km/h) by road class (OSM ``highway`` values and the
Chinese classes 快速路/主干路/次干路/支路). A speed of 0 means the mode cannot use that class
(no cars on footways, no pedestrians on motorways). Defaults are in :data:`DEFAULT_SPEEDS_KMH`
and documented in ``docs/PATROL_SITING.md``; override any of them with ``travel_mode``.
Edges are undirected (one-way rules are ignored: patrol vehicles on duty). Shortest paths use
``scipy.sparse.csgraph.dijkstra``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from gridcover.coverage.cells import metric_crs_for
from gridcover.errors import InputError, SchemaError

__all__ = [
    "DEFAULT_SPEEDS_KMH",
    "MODES",
    "StreetNetwork",
    "TravelMode",
    "build_network",
    "network_from_lines",
    "shortest_times",
    "travel_mode",
]

MODES = ("walk", "bike", "car")

_NO_CARS = ("footway", "pedestrian", "steps", "path", "cycleway", "bridleway", "corridor")
_NO_FEET = ("motorway", "motorway_link", "快速路")

#: Default speeds in km/h per mode and road class; "default" applies to any other class.
DEFAULT_SPEEDS_KMH: dict[str, dict[str, float]] = {
    "walk": {"default": 5.0, "steps": 3.0, **dict.fromkeys(_NO_FEET, 0.0)},
    "bike": {
        "default": 15.0,
        "steps": 0.0,
        "footway": 8.0,
        "pedestrian": 8.0,
        "path": 12.0,
        **dict.fromkeys(_NO_FEET, 0.0),
    },
    "car": {
        "default": 25.0,
        "motorway": 80.0,
        "motorway_link": 50.0,
        "trunk": 60.0,
        "trunk_link": 40.0,
        "primary": 45.0,
        "primary_link": 35.0,
        "secondary": 40.0,
        "secondary_link": 30.0,
        "tertiary": 35.0,
        "tertiary_link": 25.0,
        "unclassified": 30.0,
        "residential": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "track": 15.0,
        "快速路": 60.0,
        "主干路": 45.0,
        "次干路": 40.0,
        "支路": 30.0,
        **dict.fromkeys(_NO_CARS, 0.0),
    },
}


@dataclass(frozen=True)
class TravelMode:
    """A travel mode: name, speed per road class (km/h; 0 = not allowed) and a default speed."""

    name: str
    default_kmh: float
    class_kmh: Mapping[str, float] = field(default_factory=dict)

    def speeds_for(self, classes: np.ndarray) -> np.ndarray:
        """Speed in km/h for each road class in ``classes`` (object array of str)."""
        out = np.full(classes.shape, self.default_kmh, dtype=float)
        for cls, kmh in self.class_kmh.items():
            out[classes == cls] = kmh
        return out

    @property
    def default_ms(self) -> float:
        """The default speed in metres per second (used for straight-line fallbacks)."""
        return self.default_kmh / 3.6


def travel_mode(
    mode: str | TravelMode = "car", overrides: Mapping[str, float] | None = None
) -> TravelMode:
    """The named mode (walk, bike, car) with its default speeds, optionally overridden per class.

    ``overrides`` maps road classes (or ``"default"``) to km/h, e.g. ``{"residential": 20}``.
    """
    if isinstance(mode, TravelMode):
        base = {"default": mode.default_kmh, **mode.class_kmh}
        name = mode.name
    elif mode in DEFAULT_SPEEDS_KMH:
        base = dict(DEFAULT_SPEEDS_KMH[mode])
        name = mode
    else:
        raise InputError(f"Unknown travel mode {mode!r}: use one of {', '.join(MODES)}.")
    for cls, kmh in (overrides or {}).items():
        if not np.isfinite(kmh) or kmh < 0:
            raise InputError(f"Speed for road class {cls!r} is {kmh}; use km/h >= 0.")
        base[str(cls)] = float(kmh)
    default = base.pop("default")
    if default <= 0:
        raise InputError(f"The default speed of mode {name!r} must be > 0 km/h, not {default}.")
    return TravelMode(name, float(default), base)


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """An undirected street graph in a metric CRS.

    ``node_x``/``node_y``: node coordinates (metres, ``crs``); ``edge_u``/``edge_v``: node
    indexes of each edge; ``edge_length_m``; ``edge_class``: road class of each edge;
    ``edge_geometry``: the edge lines (shapely, metres, ``crs``).
    """

    crs: pyproj.CRS
    node_x: np.ndarray
    node_y: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_class: np.ndarray
    edge_geometry: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.node_x.size)

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.size)

    @cached_property
    def degree(self) -> np.ndarray:
        """Number of edges at each node (an intersection has degree >= 3)."""
        return np.bincount(np.r_[self.edge_u, self.edge_v], minlength=self.n_nodes)

    @cached_property
    def _tree(self) -> cKDTree:
        return cKDTree(np.c_[self.node_x, self.node_y])

    def snap(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point (metres, ``crs``): (node index, distance in metres)."""
        x = np.asarray(x, dtype=float)
        if x.size == 0 or self.n_nodes == 0:
            return np.full(x.shape, -1, np.int64), np.full(x.shape, np.inf)
        dist, idx = self._tree.query(np.c_[x, np.asarray(y, dtype=float)])
        return np.asarray(idx, np.int64), np.asarray(dist, float)

    def graph(self, mode: str | TravelMode = "car") -> sparse.csr_matrix:
        """Travel-time graph in seconds for ``mode`` (edges the mode cannot use are dropped)."""
        tm = travel_mode(mode)
        speed = tm.speeds_for(self.edge_class) / 3.6
        ok = speed > 0
        return _min_csr(
            self.edge_u[ok], self.edge_v[ok], self.edge_length_m[ok] / speed[ok], self.n_nodes
        )

    def length_graph(self) -> sparse.csr_matrix:
        """Edge-length graph in metres (all classes)."""
        return _min_csr(self.edge_u, self.edge_v, self.edge_length_m, self.n_nodes)


def _min_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sparse.csr_matrix:
    """Upper-triangular CSR with the minimum weight among parallel edges (csgraph undirected)."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(a.size, dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    # Zero weights would be read as "no edge" by csgraph; keep them strictly positive.
    w = np.maximum(w[first], 1e-9)
    return sparse.csr_matrix((w, (a[first], b[first])), shape=(n, n))


def shortest_times(
    graph: sparse.csr_matrix, sources: np.ndarray, limit: float = np.inf
) -> np.ndarray:
    """Travel cost from each source node to every node: (n_sources, n_nodes), inf = unreachable.

    ``graph`` from :meth:`StreetNetwork.graph` (seconds) or :meth:`length_graph` (metres);
    ``limit`` stops the search beyond that cost (same unit).
    """
    sources = np.asarray(sources, dtype=np.int64)
    if sources.size == 0:
        return np.empty((0, graph.shape[0]))
    return np.atleast_2d(csgraph.dijkstra(graph, directed=False, indices=sources, limit=limit))


def network_from_lines(
    lines: np.ndarray, classes: np.ndarray, crs: pyproj.CRS, *, snap_m: float = 0.5
) -> StreetNetwork:
    """Node metric line geometries (shapely, metres in ``crs``) into a :class:`StreetNetwork`.

    ``classes``: road class per line. Lines are planar-noded; each piece keeps the class of
    the input line it lies on.
    """
    lines = np.asarray(lines, dtype=object)
    classes = np.asarray(classes, dtype=object)
    keep = ~(shapely.is_missing(lines) | shapely.is_empty(lines))
    lines, classes = lines[keep], classes[keep]
    parts = shapely.get_parts(lines)
    parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings only
    if parts.size == 0:
        raise InputError("The roads layer has no line geometry: give LineStrings of streets.")
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(parts)))
    noded = noded[shapely.length(noded) > 0]
    # The class of a piece: the input line nearest to the piece's midpoint.
    tree = shapely.STRtree(lines)
    mid = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    near = tree.query_nearest(mid, all_matches=False)
    piece_cls = np.empty(noded.size, dtype=object)
    piece_cls[near[0]] = classes[near[1]]
    start = shapely.get_coordinates(shapely.get_point(noded, 0))
    end = shapely.get_coordinates(shapely.get_point(noded, -1))
    key = np.round(np.r_[start, end], 3)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    if snap_m > 0 and uniq.shape[0] > 1:
        # Merge nodes closer than snap_m (digitising gaps at junctions); keep the first.
        pairs = cKDTree(uniq).query_pairs(snap_m, output_type="ndarray")
        if pairs.size:
            g = sparse.csr_matrix(
                (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(uniq),) * 2
            )
            _, cluster = csgraph.connected_components(g, directed=False)
            _, first = np.unique(cluster, return_index=True)
            uniq, inv = uniq[first], cluster[inv]
    u, v = inv[: noded.size], inv[noded.size :]
    ok = u != v
    return StreetNetwork(
        crs=pyproj.CRS.from_user_input(crs),
        node_x=uniq[:, 0].astype(float),
        node_y=uniq[:, 1].astype(float),
        edge_u=u[ok].astype(np.int64),
        edge_v=v[ok].astype(np.int64),
        edge_length_m=shapely.length(noded[ok]).astype(float),
        edge_class=piece_cls[ok],
        edge_geometry=noded[ok],
    )


def build_network(
    roads: gpd.GeoDataFrame, *, crs: pyproj.CRS | None = None, snap_m: float = 0.5
) -> StreetNetwork:
    """Street network from a roads GeoDataFrame (``class`` column; any CRS, normally EPSG:4326).

    ``crs``: metric CRS to work in (default: the local metric CRS of the roads' centre).
    ``snap_m``: nodes closer than this many metres are merged after noding.
    """
    if roads.crs is None:
        raise InputError("The roads layer has no CRS; read it with gis.read_layer(path, 'roads').")
    if "class" not in roads.columns:
        raise SchemaError(
            "The roads layer has no 'class' column; read it with gis.read_layer(path, 'roads') "
            "or add the road class (OSM highway value or 主干路/次干路/支路)."
        )
    if len(roads) == 0:
        raise InputError("The roads layer is empty: give at least one street line.")
    if crs is None:
        lonlat = roads.to_crs("EPSG:4326") if not roads.crs.equals("EPSG:4326") else roads
        x0, y0, x1, y1 = lonlat.total_bounds
        crs = metric_crs_for((x0 + x1) / 2, (y0 + y1) / 2)
    crs = pyproj.CRS.from_user_input(crs)
    if not crs.is_projected:
        raise InputError(f"The network needs a projected metric CRS, not {crs.name}.")
    metric = roads.to_crs(crs)
    classes = metric["class"].astype(object).where(metric["class"].notna(), "default")
    return network_from_lines(
        np.asarray(metric.geometry.values),
        np.asarray(classes.to_numpy(dtype=object).astype(str), dtype=object),
        crs,
        snap_m=snap_m,
    )
