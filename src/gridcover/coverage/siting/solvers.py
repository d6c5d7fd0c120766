"""Maximal-covering solvers: instance preparation, lazy greedy (CELF), exact MILP with HiGHS.

The problem: choose at most K candidates (columns of a 0/1 cells x candidates matrix) to
maximise the weight of newly covered demand. Backup (k-)coverage generalises it: a cell
needing k levels earns its weight for the first coverage and ``backup_weight`` x weight for
each further one up to k, counting existing cameras first. The objective is a sum of
concave functions of the coverage count, so it is monotone submodular: greedy keeps its
(1 - 1/e) guarantee and the MILP below is exact.

``prepare`` drops rows nothing can improve and **merges identical demand rows** (same
candidate set and same level values; 128-bit hashes of the column sets) summing weights:
on real grids many cells are seen by exactly the same candidates, which cuts the model
2-10x. MILP (HiGHS via highspy, column-wise model passed directly):

    max  sum_r sum_l v[r,l] y[r,l]
    s.t. sum_l y[r,l] - sum_j a[r,j] x[j] <= 0     for every merged row r
         sum_j x[j] <= K;   sum_{j in site s} x[j] <= max_per_site
         x binary, 0 <= y <= 1

With ``relax=True`` the LP relaxation is solved instead: its optimum is a proven upper bound.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from gridcover.coverage.siting._highs import solve_quietly

__all__ = [
    "GreedyResult",
    "Instance",
    "MipResult",
    "celf_greedy",
    "evaluate",
    "prepare",
    "solve_mip",
]

_HASH_SEED = 20240611


@dataclass(frozen=True, eq=False)
class Instance:
    """A prepared instance: ``A`` merged rows x candidates (CSC, bool), ``values`` (rows, L)
    weight of the 1st..L-th new coverage of each row; ``n_cells`` rows before merging."""

    A: sparse.csc_matrix
    values: np.ndarray
    n_cells: int

    @property
    def n_rows(self) -> int:
        return int(self.A.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(self.A.shape[1])


def _level_values(
    weight: np.ndarray, existing: np.ndarray, levels: np.ndarray, backup_weight: float
) -> np.ndarray:
    """(n, L) value of each further coverage of each cell, given existing coverage counts."""
    top = int(levels.max(initial=1))
    ell = np.arange(top)[None, :]  # 0-based index of the new coverage
    total = existing[:, None] + ell + 1  # coverage count after it
    factor = np.where(total == 1, 1.0, backup_weight)
    return np.where(total <= levels[:, None], weight[:, None] * factor, 0.0)


def prepare(
    coverage: sparse.spmatrix,
    weight: np.ndarray,
    *,
    existing: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    backup_weight: float = 0.5,
    merge: bool = True,
) -> Instance:
    """Build an :class:`Instance` from a cells x candidates 0/1 matrix and cell weights.

    ``existing``: cameras already covering each cell (fixed); ``levels``: coverage levels
    wanted per cell (1 = plain coverage; 2+ = backup coverage for key sites).
    """
    A = sparse.csr_matrix(coverage, dtype=bool)
    A.sum_duplicates()
    n = A.shape[0]
    w = np.asarray(weight, dtype=float)
    ex = np.zeros(n, np.int64) if existing is None else np.asarray(existing, np.int64)
    lv = np.ones(n, np.int64) if levels is None else np.asarray(levels, np.int64)
    vals = _level_values(w, ex, lv, backup_weight)
    keep = (vals.sum(axis=1) > 0) & (np.diff(A.indptr) > 0)
    A, vals = A[keep], vals[keep]
    if merge and A.shape[0] > 1:
        rng = np.random.default_rng(_HASH_SEED)
        r1 = rng.integers(0, 2**63, A.shape[1], dtype=np.uint64)
        r2 = rng.integers(0, 2**63, A.shape[1], dtype=np.uint64)
        starts = A.indptr[:-1]
        h1 = np.add.reduceat(r1[A.indices], starts)  # uint64 sums wrap: a hash
        h2 = np.add.reduceat(r2[A.indices], starts)
        # The value profile (relative to its first entry) is part of the key.
        base = np.where(vals[:, :1] > 0, vals[:, :1], 1.0)
        prof = np.round(vals / base * 1e9).astype(np.int64)
        key = np.c_[h1.view(np.int64), h2.view(np.int64), np.diff(A.indptr), prof]
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        merged = np.zeros((first.size, vals.shape[1]))
        np.add.at(merged, inv, vals)
        A, vals = A[first], merged
    return Instance(sparse.csc_matrix(A), vals, n)


@dataclass(frozen=True)
class GreedyResult:
    """Chosen candidates in pick order, each one's marginal gain, total, and a proven bound
    ``bound`` = value + sum of the K largest remaining marginal gains (submodularity)."""

    chosen: np.ndarray
    gains: np.ndarray
    objective: float
    bound: float
    seconds: float
    evaluations: int


def evaluate(
    A: sparse.csc_matrix, values: np.ndarray, chosen: np.ndarray
) -> tuple[float, np.ndarray]:
    """Objective of a set of candidates and the coverage count per merged row."""
    cnt = np.asarray(A[:, chosen].sum(axis=1)).ravel().astype(np.int64)
    L = values.shape[1]
    cum = np.c_[np.zeros(values.shape[0]), np.cumsum(values, axis=1)]
    return float(cum[np.arange(cnt.size), np.minimum(cnt, L)].sum()), cnt


def celf_greedy(
    inst: Instance, k: int, *, site: np.ndarray | None = None, max_per_site: int = 1
) -> GreedyResult:
    """Lazy greedy (CELF): pick the candidate with the largest marginal gain, K times.

    Gains are re-evaluated only for the heap top (stale gains are upper bounds). Candidates
    of a site that already has ``max_per_site`` picks are skipped. Stops early when no
    candidate adds anything.
    """
    t0 = time.perf_counter()
    A, vals = inst.A, inst.values
    L = vals.shape[1]
    indptr, indices = A.indptr, A.indices
    mv = vals[:, 0].copy()
    cnt = np.zeros(A.shape[0], np.int64)
    gains0 = A.T @ mv if A.shape[0] else np.zeros(A.shape[1])
    heap = [(-float(g), int(j), 0) for j, g in enumerate(gains0) if g > 0]
    heapq.heapify(heap)
    used = np.zeros(int(site.max(initial=-1)) + 1 if site is not None else 0, np.int64)
    chosen: list[int] = []
    gains: list[float] = []
    evals = 0
    while heap and len(chosen) < k:
        neg, j, stamp = heapq.heappop(heap)
        if site is not None and used[site[j]] >= max_per_site:
            continue
        if stamp == len(chosen):
            if -neg <= 0:
                break
            rows = indices[indptr[j] : indptr[j + 1]]
            cnt[rows] += 1
            nxt = cnt[rows]
            mv[rows] = np.where(nxt < L, vals[rows, np.minimum(nxt, L - 1)], 0.0)
            chosen.append(j)
            gains.append(-neg)
            if site is not None:
                used[site[j]] += 1
            continue
        g = float(mv[indices[indptr[j] : indptr[j + 1]]].sum())
        evals += 1
        if g > 0:
            heapq.heappush(heap, (-g, j, len(chosen)))
    secs = time.perf_counter() - t0
    value = float(np.sum(gains))
    # Proven bound: f(S) + the K largest marginal gains with respect to S.
    delta = A.T @ mv if A.shape[0] else np.zeros(A.shape[1])
    delta[np.asarray(chosen, np.int64)] = 0.0
    top = np.sort(delta)[::-1][:k]
    return GreedyResult(
        np.asarray(chosen, np.int64),
        np.asarray(gains),
        value,
        value + float(top.sum()),
        secs,
        evals,
    )


@dataclass(frozen=True)
class MipResult:
    """HiGHS outcome: ``chosen`` candidates, ``objective`` (their exact value), ``bound``
    (proven upper bound), ``gap`` = (bound - objective) / bound, ``status`` text, whether
    ``optimal``, ``relaxed`` (LP relaxation only: chosen is empty, bound is the LP optimum)."""

    chosen: np.ndarray
    objective: float
    bound: float
    gap: float
    status: str
    optimal: bool
    relaxed: bool
    seconds: float


def _model(inst: Instance, k: int, site: np.ndarray | None, max_per_site: int) -> highspy.HighsLp:
    A, vals = inst.A, inst.values
    R, C = A.shape
    rows_l, lev = np.nonzero(vals > 0)  # one y per row and valued level
    ny = rows_l.size
    site_rows = 0
    site_idx = np.zeros(C, np.int64)
    if site is not None and C:
        uniq, site_idx, counts = np.unique(site, return_inverse=True, return_counts=True)
        crowded = counts > max_per_site
        remap = np.full(uniq.size, -1, np.int64)
        remap[crowded] = np.arange(int(crowded.sum()))
        site_idx = remap[site_idx]
        site_rows = int(crowded.sum())
    # x columns: -1 in covered rows, +1 in the K row, +1 in the site row (if any).
    nnz_a = np.diff(A.indptr)
    has_site = site_idx >= 0 if site is not None else np.zeros(C, bool)
    x_len = nnz_a + 1 + has_site
    x_start = np.r_[0, np.cumsum(x_len)]
    idx = np.empty(int(x_start[-1]), np.int32)
    val = np.empty(int(x_start[-1]))
    a_pos = x_start[:-1].repeat(nnz_a) + (np.arange(A.nnz) - A.indptr[:-1].repeat(nnz_a))
    idx[a_pos], val[a_pos] = A.indices, -1.0
    k_pos = x_start[:-1] + nnz_a
    idx[k_pos], val[k_pos] = R, 1.0
    s_pos = k_pos[has_site] + 1
    idx[s_pos], val[s_pos] = R + 1 + site_idx[has_site], 1.0
    lp = highspy.HighsLp()
    lp.num_col_ = C + ny
    lp.num_row_ = R + 1 + site_rows
    lp.col_cost_ = np.r_[np.zeros(C), vals[rows_l, lev]]
    lp.col_lower_ = np.zeros(C + ny)
    lp.col_upper_ = np.ones(C + ny)
    lp.row_lower_ = np.full(lp.num_row_, -highspy.kHighsInf)
    lp.row_upper_ = np.r_[np.zeros(R), float(k), np.full(site_rows, float(max_per_site))]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.r_[x_start, x_start[-1] + np.arange(1, ny + 1)].astype(np.int32)
    lp.a_matrix_.index_ = np.r_[idx, rows_l].astype(np.int32)
    lp.a_matrix_.value_ = np.r_[val, np.ones(ny)]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * C + [highspy.HighsVarType.kContinuous] * ny
    return lp


def solve_mip(
    inst: Instance,
    k: int,
    *,
    site: np.ndarray | None = None,
    max_per_site: int = 1,
    time_limit: float = 60.0,
    mip_rel_gap: float = 1e-6,
    relax: bool = False,
    start: np.ndarray | None = None,
    threads: int | None = None,
) -> MipResult:
    """Solve the instance exactly with HiGHS (or its LP relaxation with ``relax=True``).

    ``start``: a feasible pick (e.g. the greedy one) given to HiGHS as the first incumbent.
    The returned objective is re-evaluated from the chosen candidates, not read from HiGHS.
    """
    t0 = time.perf_counter()
    C = inst.n_candidates
    if C == 0 or inst.n_rows == 0 or k <= 0:
        return MipResult(np.empty(0, np.int64), 0.0, 0.0, 0.0, "trivial", True, relax, 0.0)
    lp = _model(inst, k, site, max_per_site)
    if relax:
        lp.integrality_ = []
    h = solve_quietly(
        lp, time_limit=time_limit, mip_rel_gap=mip_rel_gap, start=None if relax else start,
        threads=threads,
    )  # fmt: skip
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    secs = time.perf_counter() - t0
    if relax:
        ub = float(info.objective_function_value)
        return MipResult(
            np.empty(0, np.int64),
            float("nan"),
            ub,
            float("nan"),
            status,
            status == "Optimal",
            True,
            secs,
        )
    x = np.asarray(h.getSolution().col_value[:C])
    chosen = np.flatnonzero(x > 0.5)
    obj, _ = evaluate(inst.A, inst.values, chosen)
    bound = float(info.mip_dual_bound)
    if not np.isfinite(bound):
        bound = float("inf")
    bound = max(bound, obj)
    gap = (bound - obj) / bound if bound > 0 else 0.0
    return MipResult(chosen, obj, bound, gap, status, status == "Optimal", False, secs)
