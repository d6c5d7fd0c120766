"""Grid chiefs' verdicts on grid QA issues: confirmed or disputed, with a comment.

One append-only row per verdict (the newest row of an issue is its current verdict, older
rows stay as history), written with its audit row in the same transaction. The table lives in
the store's own database (``gridcover_qa_reviews`` in the GeoPackage, ``gridcover.qa_reviews``
in PostgreSQL). An issue is named by the grid-check run that found it and its feature id in
the ``grid_issues`` collection of that run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gridcover.api.store.audit import AuditedTable, entry_for, now_iso, write_entry
from gridcover.api.store.edits import Actor
from gridcover.api.store.sql_target import run

Verdict = Literal["confirmed", "disputed"]
VERDICTS: tuple[Verdict, ...] = ("confirmed", "disputed")
_COLS = "run_id, issue_id, verdict, comment, check_name, grid, actor, key_id, role, at"
_SQLITE_DDL = """CREATE TABLE IF NOT EXISTS gridcover_qa_reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, issue_id TEXT NOT NULL,
    verdict TEXT NOT NULL, comment TEXT NOT NULL, check_name TEXT, grid TEXT,
    actor TEXT NOT NULL, key_id TEXT, role TEXT NOT NULL, at TEXT NOT NULL)"""
_POSTGRES_DDL = (
    "SELECT pg_advisory_xact_lock(7274003)",
    "CREATE SCHEMA IF NOT EXISTS gridcover",
    """CREATE TABLE IF NOT EXISTS gridcover.qa_reviews (
        id bigserial PRIMARY KEY, run_id text NOT NULL, issue_id text NOT NULL,
        verdict text NOT NULL, comment text NOT NULL, check_name text, grid text,
        actor text NOT NULL, key_id text, role text NOT NULL, at text NOT NULL)""",
)


@dataclass(frozen=True)
class Review:
    """A verdict on one QA issue: who gave it, when (UTC ISO 8601), for which grid."""

    run_id: str
    issue_id: str
    verdict: str
    comment: str
    check_name: str | None
    grid: str | None
    actor: str
    key_id: str | None
    role: str
    at: str
    id: int | None = None


class ReviewStore(AuditedTable):
    """The reviews table of one database (``SqlTarget``)."""

    SQLITE_TABLE = "gridcover_qa_reviews"
    POSTGRES_TABLE = "gridcover.qa_reviews"
    SQLITE_DDL = _SQLITE_DDL
    POSTGRES_DDL = _POSTGRES_DDL

    def add(
        self,
        actor: Actor,
        run_id: str,
        issue_id: str,
        verdict: Verdict,
        comment: str,
        check_name: str | None,
        grid: str | None,
    ) -> Review:
        """Store a verdict and its audit row (action ``review_issue``) in one transaction."""
        self.ensure_schema()
        review = Review(run_id, issue_id, verdict, comment, check_name, grid, actor.name,
                        actor.key_id, actor.role, now_iso())  # fmt: skip
        with self.target.transaction() as conn:
            run(
                conn, f"INSERT INTO {self.table} ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (review.run_id, review.issue_id, review.verdict, review.comment,
                 review.check_name, review.grid, review.actor, review.key_id, review.role,
                 review.at),
            )  # fmt: skip
            detail = {"run_id": run_id, "verdict": verdict, "comment": comment,
                      "check": check_name}  # fmt: skip
            write_entry(conn, entry_for(actor, "review_issue", "grid_issues",
                                        object_id=issue_id, grid=grid, detail=detail))  # fmt: skip
        return review

    def latest(self, run_id: str) -> dict[str, Review]:
        """The current verdict of each reviewed issue of a grid-check run: {issue id: review}."""
        self.ensure_schema()
        sql = f"SELECT id, {_COLS} FROM {self.table} WHERE run_id = ? ORDER BY id"
        with self.target.transaction(write=False) as conn:
            rows = run(conn, sql, (run_id,)).fetchall()
        out: dict[str, Review] = {}
        for r in rows:
            text = [None if v is None else str(v) for v in r[1:]]
            out[str(r[2])] = Review(
                run_id=str(text[0]), issue_id=str(text[1]), verdict=str(text[2]),
                comment=str(text[3] or ""), check_name=text[4], grid=text[5],
                actor=str(text[6]), key_id=text[7], role=str(text[8]), at=str(text[9]),
                id=int(r[0]),
            )  # fmt: skip
        return out
