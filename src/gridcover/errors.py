"""Error types. Each subclasses a built-in so callers can catch either.

Messages are sentences that name the file, row/feature and field, and say what to do.
The web layer maps these types to HTTP status codes in one table (``api/errors.py``).
"""

from __future__ import annotations


class GridcoverError(Exception):
    """Base class of every error gridcover raises on purpose."""


class InputError(GridcoverError, ValueError):
    """Input data (file, column, value) is wrong; the message says where and how to fix it."""


class InvalidGeometry(InputError):
    """A geometry is invalid, empty, of the wrong type or has non-finite coordinates."""


class CRSError(InputError):
    """A CRS is missing, unknown, or coordinates do not fit the declared CRS."""


class SchemaError(InputError):
    """Required columns are missing, values are out of range or of the wrong type."""


class DuplicateKeyError(SchemaError):
    """Codes or ids that must be unique are repeated."""


class UnsafeArchive(InputError):
    """An archive would write outside its folder or is a compression bomb."""


class UnitsError(GridcoverError, ValueError):
    """A distance or area in metres was asked of geographic (degree) coordinates."""


class NotFound(GridcoverError, LookupError):
    """A layer, collection, feature or job does not exist."""


class Conflict(GridcoverError, RuntimeError):
    """The request conflicts with the current state (e.g. a job still running)."""


class PermissionDenied(GridcoverError, PermissionError):
    """The caller's role or grid scope does not allow this action."""


class ValidationReport(InputError):
    """Several rows failed validation; ``problems`` holds one sentence per bad row."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        shown = "\n  - ".join(self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        head = f"{source}: {len(self.problems)} problem(s) found, nothing was written:"
        super().__init__(f"{head}\n  - {shown}{more}")


class PreconditionFailed(Conflict):
    """A conditional write named a version that is no longer current (HTTP 412)."""
