"""An in-process API client on the bundled sample, with a planner key (TestClient).

The sample is loaded without its analyses (tests start the jobs they need), the rate limit
is off and up to 500,000 cells are allowed, as the API tests of coverage, what-if and
scenarios need.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from gridcover.api.app import create_app
from gridcover.settings import Settings
from sample_analysis import SAMPLE


@contextlib.contextmanager
def sample_planner_client(data_dir: Path, label: str) -> Iterator[TestClient]:
    """A TestClient on a store in ``data_dir`` holding the sample; its requests carry a
    planner key named ``label`` (when the app keeps keys)."""
    settings = Settings(
        data_dir=data_dir,
        sample_dir=SAMPLE,
        max_cells=500_000,
        rate_limit_per_minute=0,
        sample_analyses=False,
    )
    app = create_app(settings)
    with TestClient(app) as c:
        keys = getattr(app.state, "keys", None)
        if keys is not None:
            c.headers["X-API-Key"] = keys.add(label, "planner").token
        yield c
