"""Street-block grid for the bundled sample (used by build_sample.py; not part of gridcover).

Everything here works in one local metric CRS (metres). The three grid levels come out of a
single noded line arrangement snapped to a 1 cm grid, so every shared edge is the same list of
vertices in every polygon that uses it: level 3 cells tile their block exactly and level 1 / 2
polygons are coverage unions of the level 3 cells they hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

GRID_SIZE_M = 0.01  # every grid vertex lies on a 1 cm lattice (snap-rounded noding)
BLOCK_CLASSES = (  # OSM highway values that bound street blocks
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "residential",
    "unclassified",
    "living_street",
    "pedestrian",
)
MAJOR_CLASSES = ("primary", "primary_link", "secondary", "secondary_link")
EDGE_GAP_M = 50.0  # street ends this close to the extract edge are extended to meet it
MIN_BLOCK_M2 = 2000.0  # smaller street faces (traffic islands, corners) join a neighbour
MIN_BLOCK_WIDTH_M = 12.0  # faces thinner than this (2*area/perimeter) join a neighbour
MIN_CELL_M2 = 25.0  # smaller level-3 faces join a neighbour in the same block
MIN_SEED_BUILDING_M2 = 50.0  # buildings smaller than this never seed a level-3 cell
MAX_CELLS_PER_BLOCK = 8  # at most this many level-3 cells per block (largest buildings seed)
N_COMMUNITIES = 5  # level-1 groups


@dataclass(frozen=True)
class Grid:
    """Faces of the final arrangement and their grouping (all in the metric CRS).

    cells: level-3 polygons; cell_block[i] is the block index of cell i; block_community[j]
    is the community index of block j. blocks / communities are coverage unions of cells.
    """

    cells: np.ndarray
    cell_block: np.ndarray
    blocks: np.ndarray
    block_community: np.ndarray
    communities: np.ndarray


def _faces(lines: list[BaseGeometry]) -> np.ndarray:
    """Polygon faces of the noded (1 cm snap-rounded) arrangement of ``lines``."""
    noded = shapely.union_all(np.asarray(lines, dtype=object), grid_size=GRID_SIZE_M)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.area(faces) > 0]


def _shared_length(a: BaseGeometry, b: BaseGeometry) -> float:
    return float(shapely.length(shapely.intersection(a.boundary, b.boundary)))


def _merge_small(
    faces: np.ndarray,
    too_small: Callable[[BaseGeometry], bool],
    same_group: np.ndarray | None = None,
) -> list[list[int]]:
    """Merge each face that ``too_small(geom)`` flags into the neighbour sharing the longest edge.

    Faces only merge with faces of the same ``same_group`` label (when given). Returns groups of
    face indices, deterministic: the smallest offender is handled first, ties by index.
    """
    groups: dict[int, list[int]] = {i: [i] for i in range(len(faces))}
    geoms: dict[int, BaseGeometry] = {i: faces[i] for i in range(len(faces))}
    label = np.zeros(len(faces), dtype=int) if same_group is None else same_group
    stuck: set[int] = set()
    while True:
        small = [g for g in groups if g not in stuck and too_small(geoms[g])]
        if not small:
            break
        g = min(small, key=lambda k: (geoms[k].area, k))
        keys = [k for k in groups if k != g and label[k] == label[g]]
        tree = shapely.STRtree([geoms[k] for k in keys])
        near = [keys[i] for i in tree.query(geoms[g], predicate="intersects")]
        shared = [(_shared_length(geoms[g], geoms[k]), -k) for k in near]
        shared = [s for s in shared if s[0] > 0]
        if not shared:
            stuck.add(g)
            continue
        target = -max(shared)[1]
        groups[target].extend(groups.pop(g))
        geoms[target] = shapely.coverage_union_all([faces[i] for i in groups[target]])
        del geoms[g]
    return [sorted(v) for _, v in sorted(groups.items())]


def _edge_connectors(lines: np.ndarray, area: BaseGeometry, max_gap: float) -> list[BaseGeometry]:
    """Straight extensions that carry dangling street ends to the edge of ``area``.

    The OSM extract cuts ways at their last node inside the box, so streets that cross the box
    edge stop short of it. A dangling end within ``max_gap`` metres of the edge is extended along
    its last segment's direction up to the edge (when the ray meets the edge within 1.5 x gap).
    """
    noded = shapely.get_parts(shapely.union_all(lines, grid_size=GRID_SIZE_M))
    n = shapely.get_num_coordinates(noded)
    start, end = shapely.get_point(noded, 0), shapely.get_point(noded, -1)
    ends = np.concatenate([shapely.get_coordinates(start), shapely.get_coordinates(end)])
    prev = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(noded, 1)),
            shapely.get_coordinates(shapely.get_point(noded, n - 2)),
        ]
    )
    _, inverse, counts = np.unique(ends, axis=0, return_inverse=True, return_counts=True)
    dangling = counts[inverse.ravel()] == 1
    near = shapely.distance(shapely.points(ends), area.exterior) <= max_gap
    out: list[BaseGeometry] = []
    for i in np.flatnonzero(dangling & near):
        step = ends[i] - prev[i]
        step = step / np.hypot(*step)
        ray = shapely.linestrings([ends[i], ends[i] + step * 1.5 * max_gap])
        hit = shapely.intersection(ray, area.exterior)
        if hit.is_empty:
            continue
        pts = shapely.get_coordinates(hit)
        nearest = pts[np.argmin(np.hypot(*(pts - ends[i]).T))]
        out.append(shapely.linestrings([ends[i], nearest]))
    return out


def _is_small_block(geom: BaseGeometry) -> bool:
    return geom.area < MIN_BLOCK_M2 or 2 * geom.area / geom.length < MIN_BLOCK_WIDTH_M / 2


def street_blocks(block_lines: np.ndarray, area: BaseGeometry) -> np.ndarray:
    """Street blocks (metric polygons) tiling ``area``: faces of the streets and the area edge.

    Faces smaller than MIN_BLOCK_M2 or thinner than MIN_BLOCK_WIDTH_M (traffic islands between
    carriageways, corner triangles) are merged into the neighbour with the longest shared edge,
    so nothing is dropped and the blocks still tile the area.
    """
    inside = shapely.intersection(block_lines, area)
    inside = inside[~shapely.is_empty(inside)]
    faces = _faces([*inside, *_edge_connectors(inside, area, EDGE_GAP_M), area.exterior])
    groups = _merge_small(faces, _is_small_block)
    return np.array([shapely.coverage_union_all(faces[g]) for g in groups], dtype=object)


def communities(
    blocks: np.ndarray, major_lines: np.ndarray, area: BaseGeometry, n: int = N_COMMUNITIES
) -> np.ndarray:
    """Community label (0..n-1) per block: regions cut by major roads, merged down to ``n``.

    Regions between primary/secondary roads are merged smallest-first into the neighbouring
    region that shares the longest boundary, until ``n`` remain. Blocks join the region holding
    their representative point.
    """
    inside = shapely.intersection(major_lines, area)
    inside = inside[~shapely.is_empty(inside)]
    regions = _faces([*inside, *_edge_connectors(inside, area, EDGE_GAP_M), area.exterior])
    pts = shapely.point_on_surface(blocks)
    region_of = np.full(len(blocks), -1)
    b_idx, r_idx = shapely.STRtree(regions).query(pts, predicate="within")
    region_of[b_idx] = r_idx
    if (region_of < 0).any():
        raise RuntimeError("a block's representative point lies on a major-road line")
    # regions as unions of their blocks (exact), then merge until n remain
    used = np.unique(region_of)
    region_geoms = np.array(
        [shapely.coverage_union_all(blocks[region_of == r]) for r in used], dtype=object
    )
    total = shapely.area(region_geoms).sum()
    merged = _merge_small_to_count(region_geoms, n, total)
    label = np.empty(len(blocks), dtype=int)
    for new, members in enumerate(merged):
        for m in members:
            label[region_of == used[m]] = new
    return label


def _merge_small_to_count(geoms: np.ndarray, n: int, total: float) -> list[list[int]]:
    groups: dict[int, list[int]] = {i: [i] for i in range(len(geoms))}
    shapes: dict[int, BaseGeometry] = {i: geoms[i] for i in range(len(geoms))}
    while len(groups) > n:
        g = min(groups, key=lambda k: (shapes[k].area, k))
        shared = [(_shared_length(shapes[g], shapes[k]), -k) for k in groups if k != g]
        target = -max(shared)[1]
        groups[target].extend(groups.pop(g))
        shapes[target] = shapely.coverage_union(shapes.pop(g), shapes[target])
    return [sorted(v) for _, v in sorted(groups.items())]


def _voronoi_edges(block: BaseGeometry, seeds: np.ndarray) -> list[BaseGeometry]:
    """Voronoi edges of ``seeds`` (points) inside ``block``; empty for fewer than two seeds."""
    if len(seeds) < 2:
        return []
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=block))
    edges = shapely.intersection(shapely.union_all(shapely.boundary(cells)), block)
    return [] if edges.is_empty else [edges]


def building_seeds(
    blocks: np.ndarray, buildings: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Seed points per block (largest buildings first, capped) and the block of each building."""
    pts = shapely.point_on_surface(buildings)
    areas = shapely.area(buildings)
    block_of = np.full(len(buildings), -1)
    p_idx, b_idx = shapely.STRtree(blocks).query(pts, predicate="intersects")
    order = np.lexsort((b_idx, p_idx))
    first = np.unique(p_idx[order], return_index=True)[1]
    block_of[p_idx[order][first]] = b_idx[order][first]
    seeds = []
    for j in range(len(blocks)):
        mine = np.flatnonzero((block_of == j) & (areas >= MIN_SEED_BUILDING_M2))
        mine = mine[np.lexsort((mine, -areas[mine]))][:MAX_CELLS_PER_BLOCK]
        seeds.append(pts[np.sort(mine)])
    return seeds, block_of


def build_grid(
    block_lines: np.ndarray, major_lines: np.ndarray, buildings: np.ndarray, area: BaseGeometry
) -> Grid:
    """The three-level grid over ``area`` (all inputs and outputs in one metric CRS)."""
    area = shapely.set_precision(area, GRID_SIZE_M)
    blocks0 = street_blocks(block_lines, area)
    seeds, _ = building_seeds(blocks0, buildings)
    lines: list[BaseGeometry] = [shapely.boundary(b) for b in blocks0]
    for block, s in zip(blocks0, seeds, strict=True):
        lines.extend(_voronoi_edges(block, s))
    faces = _faces(lines)
    face_block = np.full(len(faces), -1)
    f_idx, b_idx = shapely.STRtree(blocks0).query(
        shapely.point_on_surface(faces), predicate="intersects"
    )
    order = np.lexsort((b_idx, f_idx))
    first = np.unique(f_idx[order], return_index=True)[1]
    face_block[f_idx[order][first]] = b_idx[order][first]
    if (face_block < 0).any():
        raise RuntimeError("a level-3 face lies outside every block")
    groups = _merge_small(faces, lambda g: g.area < MIN_CELL_M2, same_group=face_block)
    cells = np.array([shapely.coverage_union_all(faces[g]) for g in groups], dtype=object)
    cell_block = np.array([face_block[g[0]] for g in groups])
    blocks = np.array(
        [shapely.coverage_union_all(cells[cell_block == j]) for j in range(len(blocks0))],
        dtype=object,
    )
    block_community = communities(blocks, major_lines, area)
    comms = np.array(
        [
            shapely.coverage_union_all(
                cells[np.isin(cell_block, np.flatnonzero(block_community == c))]
            )
            for c in range(block_community.max() + 1)
        ],
        dtype=object,
    )
    return Grid(cells, cell_block, blocks, block_community, comms)


def check_grid(grid: Grid, area: BaseGeometry, tol_m2: float = 1e-6) -> list[str]:
    """Problems with nesting and tiling (empty list = the grid is clean). Metric CRS."""
    problems: list[str] = []
    for name, geoms in (
        ("cell", grid.cells),
        ("block", grid.blocks),
        ("community", grid.communities),
    ):
        bad = np.flatnonzero(~shapely.is_valid(geoms) | (shapely.get_type_id(geoms) != 3))
        problems += [f"{name} {i} is not a valid Polygon" for i in bad]
        if not shapely.coverage_is_valid(geoms):
            problems.append(f"the {name}s are not a valid coverage (overlaps or unmatched edges)")
    for j, block in enumerate(grid.blocks):
        diff = shapely.symmetric_difference(
            block, shapely.union_all(grid.cells[grid.cell_block == j])
        )
        if diff.area > tol_m2:
            problems.append(f"block {j}: cells differ from the block by {diff.area:.3g} m²")
    for c, comm in enumerate(grid.communities):
        diff = shapely.symmetric_difference(
            comm, shapely.union_all(grid.blocks[grid.block_community == c])
        )
        if diff.area > tol_m2:
            problems.append(f"community {c}: blocks differ from it by {diff.area:.3g} m²")
    diff = shapely.symmetric_difference(area, shapely.union_all(grid.communities))
    if diff.area > 1.0:
        problems.append(f"the communities differ from the extract area by {diff.area:.3g} m²")
    return problems
