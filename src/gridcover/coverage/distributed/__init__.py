"""The coverage analysis on Dask, partitioned by H3 parent cell with a halo.

``plan``: partitions and halo rules; ``tasks``: halo subsets and partition tasks built on the
client; ``worker``: the work of one partition (no Dask imports); ``blind``: blind cells across
partition edges; ``merge``: per-partition aggregates -> the tables of a whole analysis;
``shared``: helpers client and workers share; ``client``: ``run_distributed`` and ``connect``.
Dask itself is imported only inside ``client`` when a run starts.
"""

from gridcover.coverage.distributed.client import (
    DistributedResult,
    connect,
    parse_dask_spec,
    run_distributed,
)
from gridcover.gis.analysis_folder import read_parts

__all__ = ["DistributedResult", "connect", "parse_dask_spec", "read_parts", "run_distributed"]
