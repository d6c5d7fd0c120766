"""Patrol report figures agree with the counts beside them: a share short of 100 % never
prints as "100.0%" (the report once printed "100.0% both" next to "grids meeting both: 0 of
1" for 99.97 %), and the printed value is within 0.1 point of the true share."""

from __future__ import annotations

import numpy as np

from gridcover.coverage.patrol.figures import pct_text


def test_shares_short_of_the_ends_never_round_onto_them() -> None:
    rng = np.random.default_rng(7)
    shares = np.r_[rng.random(20_000), 0.9997, 0.99951, 0.99999, 1e-6, 0.00049]
    for s in shares:
        v = float(pct_text(float(s)).rstrip("%"))
        assert 0.0 < v < 100.0, (s, v)
        assert abs(v - 100 * s) <= 0.1 + 1e-9
    assert pct_text(1.0) == "100.0%" and pct_text(0.0) == "0.0%"
    assert pct_text(0.9997) == "99.9%" and pct_text(float("nan")) == "n/a"
