"""Camera owners: who built each camera, and what each owner's cameras cover.

The canonical ``owner`` column (optional) holds ``public_security`` (天网 / 雪亮),
``community`` (社区), ``social`` (社会面: units, shops, residential compounds) or ``other``;
Chinese names are accepted too, and an empty or unknown owner counts as ``other``.
``owner_kpis`` tells, per owner, how many cameras count and what area and priority weight
their counted cameras cover (alone and together with the others); a scenario with
``counted_owners`` answers "what if the social cameras were connected".
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridcover.coverage.analysis import AnalysisResult

__all__ = ["OWNERS", "owner_kpis", "owners_of"]

OWNERS = ("public_security", "community", "social", "other")
_SYNONYMS = {
    "天网": "public_security",
    "雪亮": "public_security",
    "公安": "public_security",
    "社区": "community",
    "社会面": "social",
    "社会": "social",
    "其他": "other",
}


def owners_of(cameras: gpd.GeoDataFrame) -> np.ndarray:
    """Per camera, its owner class (one of ``OWNERS``)."""
    if "owner" not in cameras.columns:
        return np.full(len(cameras), "other", dtype=object)
    raw = cameras["owner"].astype(object).where(cameras["owner"].notna(), "")
    out = [_SYNONYMS.get(str(v).strip(), str(v).strip().lower()) for v in raw]
    return np.array([o if o in OWNERS else "other" for o in out], dtype=object)


def owner_kpis(result: AnalysisResult) -> pd.DataFrame:
    """One row per owner present: ``cameras``, ``cameras_counted``, ``covered_m2`` (area of
    the cells a counted camera of that owner covers), ``only_m2`` (covered by that owner's
    cameras and no other owner's), ``weight_covered_pct`` (share of the total priority weight
    its counted cameras cover). Areas in m²."""
    st = result.state
    cov, cells = st.coverage, st.cells
    owner = owners_of(st.cameras)
    area, w = cells.area_m2, st.priority.weight
    ok = cov.counted[cov.camera_idx]
    ci, own = cov.cell_idx[ok], owner[cov.camera_idx[ok]]
    pairs = pd.DataFrame({"c": ci, "o": own}).drop_duplicates()
    n_owners = pairs.groupby("c")["o"].nunique()
    rows = []
    total_w = float(w.sum())
    for o in [x for x in OWNERS if (owner == x).any()]:
        mine = np.unique(pairs.loc[pairs["o"] == o, "c"].to_numpy())
        solo = mine[n_owners.reindex(mine).to_numpy() == 1]
        rows.append({
            "owner": o,
            "cameras": int((owner == o).sum()),
            "cameras_counted": int((cov.counted & (owner == o)).sum()),
            "covered_m2": float(area[mine].sum()),
            "only_m2": float(area[solo].sum()),
            "weight_covered_pct": 100.0 * float(w[mine].sum()) / total_w if total_w else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)
