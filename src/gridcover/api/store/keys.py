"""API keys: created once (shown once), stored only as salted scrypt hashes, revocable.

A key reads ``gck_<id>_<secret>``: the 8-hex ``id`` is public (listed, written to the audit
log) and finds the stored row; the secret is checked against ``scrypt(secret, salt)`` with a
constant-time comparison. Roles: ``admin``, ``planner``, ``grid_chief`` (with the code of his
grid; his scope includes the grid's descendants) and ``reader``. The table lives in the store's
database (``gridcover_api_keys`` in the GeoPackage, ``gridcover.api_keys`` in PostgreSQL).
Making and revoking a key add an audit row (collection ``api_keys``, object the key id) in the
same transaction, like every other write.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from gridcover.api.store.audit import AuditedTable, entry_for, now_iso, write_entry
from gridcover.api.store.edits import ROLES, Actor
from gridcover.api.store.sql_target import run
from gridcover.errors import InputError, NotFound

TOKEN = re.compile(r"^gck_([0-9a-f]{8})_([A-Za-z0-9_-]{20,100})$")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_COLS = "id, name, role, grid_code, salt, digest, created, revoked"
_SQLITE_DDL = """CREATE TABLE IF NOT EXISTS gridcover_api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, grid_code TEXT,
    salt TEXT NOT NULL, digest TEXT NOT NULL, created TEXT NOT NULL, revoked TEXT)"""
_POSTGRES_DDL = (
    "SELECT pg_advisory_xact_lock(7274002)",
    "CREATE SCHEMA IF NOT EXISTS gridcover",
    """CREATE TABLE IF NOT EXISTS gridcover.api_keys (
        id text PRIMARY KEY, name text NOT NULL, role text NOT NULL, grid_code text,
        salt text NOT NULL, digest text NOT NULL, created text NOT NULL, revoked text)""",
)


@dataclass(frozen=True)
class ApiKey:
    """A stored key: public id, holder's name, role, grid scope, salt and scrypt digest (hex)."""

    id: str
    name: str
    role: str
    grid_code: str | None
    salt: str
    digest: str
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: the stored record and the token (shown once, never stored)."""

    record: ApiKey
    token: str


def hash_secret(secret: str, salt_hex: str) -> str:
    """scrypt(secret, salt) as hex (N=2^14, r=8, p=1: ~16 MiB and tens of ms per check)."""
    raw = hashlib.scrypt(
        secret.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=SCRYPT_N, r=SCRYPT_R,
        p=SCRYPT_P, maxmem=64 * 1024**2, dklen=32,
    )  # fmt: skip
    return raw.hex()


def parse_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    m = TOKEN.match(token.strip())
    return (m.group(1), m.group(2)) if m else None


def verify(token: str, keys: dict[str, ApiKey]) -> ApiKey | None:
    """The active key matching ``token``, else None (the hash runs even for unknown ids)."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    key_id, secret = parsed
    record = keys.get(key_id)
    salt = record.salt if record is not None else "00" * 16
    digest = hash_secret(secret, salt)
    if record is None or not record.active:
        return None
    return record if hmac.compare_digest(digest, record.digest) else None


class KeyStore(AuditedTable):
    """The keys table of one database (``SqlTarget``)."""

    SQLITE_TABLE = "gridcover_api_keys"
    POSTGRES_TABLE = "gridcover.api_keys"
    SQLITE_DDL = _SQLITE_DDL
    POSTGRES_DDL = _POSTGRES_DDL

    def add(
        self, name: str, role: str, grid_code: str | None = None, actor: Actor | None = None
    ) -> NewKey:
        """Create a key; the returned token is the only time the secret exists in clear.

        ``actor`` (default: the current request's, else ``system``) is named in the audit row.
        """
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
        if role == "grid_chief" and not grid_code:
            raise InputError("a grid_chief key needs the code of his grid (--grid CODE)")
        if role != "grid_chief" and grid_code:
            raise InputError(f"only grid_chief keys have a grid; drop --grid for role {role}")
        if not name.strip():
            raise InputError("give the key holder's name (--name), it is shown in the audit log")
        self.ensure_schema()
        key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        record = ApiKey(key_id, name.strip(), role, grid_code, salt, hash_secret(secret, salt),
                        now_iso())  # fmt: skip
        with self.target.transaction() as conn:
            run(
                conn, f"INSERT INTO {self.table} ({_COLS}) VALUES (?,?,?,?,?,?,?,?)",
                (record.id, record.name, record.role, record.grid_code, record.salt,
                 record.digest, record.created, None),
            )  # fmt: skip
            detail = {"name": record.name, "role": role, "grid": grid_code}
            write_entry(conn, entry_for(actor, "add_key", "api_keys", object_id=key_id,
                                        grid=grid_code, detail=detail))  # fmt: skip
        return NewKey(record, f"gck_{key_id}_{secret}")

    def all(self) -> list[ApiKey]:
        """Every key (revoked ones too), oldest first."""
        self.ensure_schema()
        with self.target.transaction(write=False) as conn:
            rows = run(conn, f"SELECT {_COLS} FROM {self.table} ORDER BY created, id").fetchall()
        return [ApiKey(*r) for r in rows]

    def active(self) -> dict[str, ApiKey]:
        """Active keys by id."""
        return {k.id: k for k in self.all() if k.active}

    def revoke(self, key_id: str, actor: Actor | None = None) -> ApiKey:
        """Mark a key revoked (kept for the audit trail, and audited); raises NotFound."""
        self.ensure_schema()
        with self.target.transaction() as conn:
            cur = run(
                conn, f"UPDATE {self.table} SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (now_iso(), key_id),
            )  # fmt: skip
            if cur.rowcount == 0:
                known = run(conn, f"SELECT 1 FROM {self.table} WHERE id = ?", (key_id,))
                if known.fetchone() is None:
                    raise NotFound(
                        f"no API key with id {key_id!r}; 'gridcover keys list' shows them"
                    )
            else:
                write_entry(conn, entry_for(actor, "revoke_key", "api_keys", object_id=key_id))
        return next(k for k in self.all() if k.id == key_id)
