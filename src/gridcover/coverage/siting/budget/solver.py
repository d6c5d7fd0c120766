"""Camera siting within a budget: mixed models with prices, existing cameras kept.

The problem: choose candidate cameras (columns of a cells x candidates 0/1 matrix, each
with a price) whose total price is at most the budget (and, optionally, at most K of them;
at most ``max_per_site`` per pole) to maximise the newly covered priority weight (with
backup levels as in ``solvers.prepare``). A budgeted maximal-covering problem:

* greedy: repeatedly the affordable candidate with the largest gain per price, compared
  with the best single affordable candidate (the better of the two keeps the
  (1 - 1/e)/2 guarantee of budgeted submodular maximisation);
* exact: a MILP solved by HiGHS (the K row of ``solvers`` becomes a price row), started
  from the greedy pick; its proven dual bound gives the gap. When the exact model is not
  solved the bound is the LP relaxation's optimum.

``gap`` = (bound - objective) / bound is always reported. A chosen camera whose removal
loses no weight (the MILP may switch such columns on when the budget allows) is left out,
the dearest first, and a note says what that saved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
from scipy import sparse

from gridcover.coverage.siting._highs import solve_quietly
from gridcover.coverage.siting.cameras import rank_chosen
from gridcover.coverage.siting.solvers import Instance, evaluate, prepare
from gridcover.errors import InputError

__all__ = ["BudgetResult", "budget_greedy", "choose_within_budget", "solve_budget_mip"]


@dataclass(frozen=True, eq=False)
class BudgetResult:
    """``chosen`` candidate indexes (sorted), their total ``cost``, the
    ``budget``, ``objective`` (newly covered weight), proven ``upper_bound``, ``gap``,
    ``method`` ("greedy" or "exact"), ``optimal``, HiGHS ``status``, both solvers'
    objectives, ``notes``, solver ``seconds`` and the ``ranking`` of the chosen (rank,
    candidate, marginal_gain in greedy order within the set, cumulative, removal_loss)."""

    chosen: np.ndarray
    cost: float
    budget: float
    objective: float
    upper_bound: float
    gap: float
    method: str
    optimal: bool
    status: str
    greedy_objective: float
    exact_objective: float | None
    notes: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    ranking: pd.DataFrame | None = None


def _check(cost: np.ndarray, budget: float, n: int) -> np.ndarray:
    c = np.asarray(cost, float)
    if c.shape != (n,):
        raise InputError(f"cost has {c.size} values for {n} candidates: one price each.")
    if np.any(~np.isfinite(c)) or np.any(c <= 0):
        raise InputError("Every candidate needs a price > 0 (see the camera catalogue).")
    if not np.isfinite(budget) or budget <= 0:
        raise InputError(f"The budget must be a positive amount, not {budget!r}.")
    return c


def budget_greedy(
    inst: Instance,
    cost: np.ndarray,
    budget: float,
    *,
    k: int | None = None,
    site: np.ndarray | None = None,
    max_per_site: int = 1,
) -> tuple[np.ndarray, float]:
    """Gain-per-price greedy vs the best single affordable candidate: (chosen, objective)."""
    A, vals = inst.A, inst.values
    L = vals.shape[1]
    cnt = np.zeros(A.shape[0], np.int64)
    mv = vals[:, 0].copy()
    left = float(budget)
    used = np.zeros(int(site.max(initial=-1)) + 1 if site is not None else 0, np.int64)
    taken = np.zeros(A.shape[1], bool)
    chosen: list[int] = []
    total = 0.0
    while k is None or len(chosen) < k:
        gain = A.T @ mv
        ok = (~taken) & (cost <= left + 1e-9) & (gain > 1e-12)
        if site is not None:
            ok &= used[site] < max_per_site
        if not ok.any():
            break
        ratio = np.where(ok, gain / cost, -np.inf)
        j = int(np.argmax(ratio))
        rows = A.indices[A.indptr[j] : A.indptr[j + 1]]
        cnt[rows] += 1
        mv[rows] = np.where(cnt[rows] < L, vals[rows, np.minimum(cnt[rows], L - 1)], 0.0)
        taken[j] = True
        chosen.append(j)
        total += float(gain[j])
        left -= float(cost[j])
        if site is not None:
            used[site[j]] += 1
    single = np.asarray(A.T @ vals[:, 0]).ravel()
    afford = cost <= budget + 1e-9
    if afford.any():
        best = int(np.argmax(np.where(afford, single, -np.inf)))
        if single[best] > total + 1e-12:
            return np.array([best], np.int64), float(single[best])
    return np.asarray(chosen, np.int64), total


def solve_budget_mip(
    inst: Instance,
    cost: np.ndarray,
    budget: float,
    *,
    k: int | None = None,
    site: np.ndarray | None = None,
    max_per_site: int = 1,
    time_limit: float = 60.0,
    relax: bool = False,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, float, float, str, bool]:
    """HiGHS on the budget MILP: (chosen, objective, bound, status, optimal); with
    ``relax`` the LP relaxation (chosen empty, objective NaN, bound its optimum)."""
    A, vals = inst.A.tocsc(), inst.values
    R, C = A.shape
    rows_l, lev = np.nonzero(vals > 0)
    ny = rows_l.size
    coo = A.tocoo()
    r_i = [coo.row, np.full(C, R)]
    c_i = [coo.col, np.arange(C)]
    v_i = [-np.ones(coo.nnz), np.asarray(cost, float)]
    upper = [np.zeros(R), [float(budget)]]
    nxt = R + 1
    if k is not None:
        r_i.append(np.full(C, nxt))
        c_i.append(np.arange(C))
        v_i.append(np.ones(C))
        upper.append([float(k)])
        nxt += 1
    if site is not None and C:
        uniq, inv, counts = np.unique(site, return_inverse=True, return_counts=True)
        crowded = np.flatnonzero(counts > max_per_site)
        remap = np.full(uniq.size, -1)
        remap[crowded] = np.arange(crowded.size)
        has = remap[inv] >= 0
        r_i.append(nxt + remap[inv][has])
        c_i.append(np.flatnonzero(has))
        v_i.append(np.ones(int(has.sum())))
        upper.append(np.full(crowded.size, float(max_per_site)))
        nxt += crowded.size
    r_i.append(rows_l)
    c_i.append(C + np.arange(ny))
    v_i.append(np.ones(ny))
    M = sparse.csc_matrix(
        (np.concatenate(v_i), (np.concatenate(r_i), np.concatenate(c_i))), shape=(nxt, C + ny)
    )
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = C + ny, nxt
    lp.col_cost_ = np.r_[np.zeros(C), vals[rows_l, lev]]
    lp.col_lower_ = np.zeros(C + ny)
    lp.col_upper_ = np.ones(C + ny)
    lp.row_lower_ = np.full(nxt, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.asarray(u, float) for u in upper])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = M.indptr.astype(np.int32)
    lp.a_matrix_.index_ = M.indices.astype(np.int32)
    lp.a_matrix_.value_ = M.data
    lp.sense_ = highspy.ObjSense.kMaximize
    if not relax:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * C + [
            highspy.HighsVarType.kContinuous
        ] * ny
    h = solve_quietly(lp, time_limit=time_limit, mip_rel_gap=1e-6, start=None if relax else start)
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if relax:
        return (
            np.empty(0, np.int64),
            float("nan"),
            float(info.objective_function_value),
            status,
            (status == "Optimal"),
        )
    chosen = np.flatnonzero(np.asarray(h.getSolution().col_value[:C]) > 0.5)
    obj, _ = evaluate(inst.A, inst.values, chosen)
    bound = float(info.mip_dual_bound)
    bound = max(bound if np.isfinite(bound) else float("inf"), obj)
    return chosen, obj, bound, status, status == "Optimal"


def _drop_idle(
    inst: Instance, chosen: np.ndarray, price: np.ndarray, objective: float
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, dropped): the chosen candidates without those whose removal loses no weight,
    the dearest tried first (a MILP may switch on columns that add nothing when the budget
    allows; nobody should buy them)."""
    keep = list(chosen[np.argsort(-price[chosen], kind="stable")])
    dropped: list[int] = []
    for j in list(keep):
        rest = np.asarray([i for i in keep if i != j], np.int64)
        if evaluate(inst.A, inst.values, rest)[0] >= objective - 1e-9:
            keep.remove(j)
            dropped.append(j)
    return np.asarray(keep, np.int64), np.asarray(dropped, np.int64)


def choose_within_budget(
    coverage: sparse.spmatrix,
    weight: np.ndarray,
    cost: np.ndarray,
    budget: float,
    *,
    k: int | None = None,
    existing: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    backup_weight: float = 0.5,
    site: np.ndarray | None = None,
    max_per_site: int = 1,
    method: str = "auto",
    time_limit: float = 60.0,
    exact_max_nnz: int = 200_000,
) -> BudgetResult:
    """Choose candidates of total ``cost`` <= ``budget`` (and at most ``k`` when given)
    covering the most new priority ``weight`` (see the module doc). ``existing``: counted
    cameras already covering each cell (kept); ``method``: auto, greedy or exact."""
    if method not in ("auto", "greedy", "exact"):
        raise InputError(f"Unknown siting method {method!r}: use auto, greedy or exact.")
    cov = sparse.csr_matrix(coverage)
    c = cov.shape[1]
    price = _check(cost, budget, c)
    if k is not None and (isinstance(k, bool) or int(k) != k or k < 1):
        raise InputError(f"K must be a positive integer or left out, not {k!r}.")
    site_arr = None if site is None else pd.factorize(np.asarray(site))[0].astype(np.int64)
    secs: dict[str, float] = {}
    t0 = time.perf_counter()
    inst = prepare(cov, np.asarray(weight, float), existing=existing, levels=levels,
                   backup_weight=backup_weight)  # fmt: skip
    g_chosen, g_obj = budget_greedy(inst, price, budget, k=k, site=site_arr,
                                    max_per_site=max_per_site)  # fmt: skip
    secs["greedy"] = time.perf_counter() - t0
    notes: list[str] = []
    if not (price <= budget).any():
        notes.append(
            f"No candidate fits the budget {budget:g}: the cheapest costs {price.min():g}."
        )
    run_exact = method == "exact" or (method == "auto" and inst.A.nnz <= exact_max_nnz)
    chosen, obj, status, optimal, e_obj = g_chosen, g_obj, "greedy", False, None
    t1 = time.perf_counter()
    if inst.n_rows == 0:
        bound, status, optimal = 0.0, "trivial", True
    elif run_exact:
        m_ch, m_obj, bound, status, optimal = solve_budget_mip(
            inst, price, budget, k=k, site=site_arr, max_per_site=max_per_site,
            time_limit=time_limit, start=g_chosen,
        )  # fmt: skip
        e_obj = m_obj
        if m_obj >= obj - 1e-12:
            chosen, obj = m_ch, m_obj
        secs["exact"] = time.perf_counter() - t1
    else:
        _, _, bound, status, _ = solve_budget_mip(
            inst, price, budget, k=k, site=site_arr, max_per_site=max_per_site,
            time_limit=time_limit, relax=True,
        )  # fmt: skip
        secs["lp_bound"] = time.perf_counter() - t1
    chosen, idle = _drop_idle(inst, np.asarray(chosen, np.int64), price, obj)
    if idle.size:
        notes.append(
            f"{idle.size} camera(s) the solver switched on added no weight and were left out "
            f"(saving {price[idle].sum():g})."
        )
    bound = max(bound, obj)
    gap = (bound - obj) / bound if bound > 0 else 0.0
    chosen = np.sort(chosen)
    return BudgetResult(
        chosen=chosen,
        cost=float(price[chosen].sum()),
        budget=float(budget),
        objective=float(obj),
        upper_bound=float(bound),
        gap=float(gap),
        method="exact" if run_exact else "greedy",
        optimal=bool(optimal or gap <= 1e-9),
        status=status,
        greedy_objective=float(g_obj),
        exact_objective=e_obj,
        notes=tuple(notes),
        seconds=secs,
        ranking=rank_chosen(inst, chosen),
    )
