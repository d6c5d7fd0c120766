"""Siting within a budget: catalogue cameras with prices, existing cameras kept.

``matrix`` builds what each candidate covers under the run's view model (3D: at the cell's
required detail level; 2D: inside its sector), ``solver`` chooses within the budget (greedy
and the exact HiGHS MILP with its gap), ``sites`` runs the job on real layers (candidate
poles x catalogue models, forbidden places out) and writes its report.
"""

from gridcover.coverage.siting.budget.matrix import BudgetCover, budget_cover, drawn_views
from gridcover.coverage.siting.budget.sites import (
    EXCLUDED_CLASSES,
    BudgetConfig,
    BudgetSiting,
    forbidden_sites,
    plan_budget_siting,
    site_within_budget,
)
from gridcover.coverage.siting.budget.solver import (
    BudgetResult,
    budget_greedy,
    choose_within_budget,
    solve_budget_mip,
)

__all__ = [
    "EXCLUDED_CLASSES",
    "BudgetConfig",
    "BudgetCover",
    "BudgetResult",
    "BudgetSiting",
    "budget_cover",
    "budget_greedy",
    "choose_within_budget",
    "drawn_views",
    "forbidden_sites",
    "plan_budget_siting",
    "site_within_budget",
    "solve_budget_mip",
]
