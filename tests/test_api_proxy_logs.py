"""``gridcover serve`` behind (or without) a proxy, and keys in its logs, with the real command.

- Without ``GRIDCOVER_FORWARDED_ALLOW_IPS`` a forged ``X-Forwarded-For`` changes nothing: 40
  forged keys from "40 addresses" on loopback meet the per-address limit on key checks (429).
  Naming 127.0.0.1 as the proxy makes the same requests count per forwarded address.
- A key sent as ``api%5Fkey=gck%5F...`` (percent-encoded name and value) never reaches the
  access log in any encoding, while the request itself is served.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote

import httpx

from gridcover.api.store import open_store
from gridcover.api.store.keys import KeyStore
from gridcover.api.store.sql_target import target_for
from gridcover.settings import Settings
from test_api_serve import serve


def _store_with_key(folder: Path) -> str:
    settings = Settings(data_dir=folder, load_sample=False)
    open_store(settings).close()
    return KeyStore(target_for(settings)).add("reader", "reader").token


def _forged(base: str) -> list[int]:
    codes = []
    with httpx.Client(base_url=base, timeout=30) as c:
        for i in range(40):
            forged = {
                "X-API-Key": f"gck_0000000{i % 10}_forged{i}",
                "X-Forwarded-For": f"10.0.0.{i}",
            }
            codes.append(c.get("/collections", headers=forged).status_code)
    return codes


def test_forwarded_for_is_not_trusted_unless_a_proxy_is_named(tmp_path: Path) -> None:
    _store_with_key(tmp_path / "a")
    with serve(tmp_path / "a", "--no-sample") as (base, _):
        codes = _forged(base)
    assert set(codes) <= {401, 429} and 429 in codes, codes
    assert codes.index(429) <= 21  # the burst of uncached key checks per real address
    _store_with_key(tmp_path / "b")
    proxy = {"GRIDCOVER_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with serve(tmp_path / "b", "--no-sample", **proxy) as (base, _):
        codes = _forged(base)
    assert codes == [401] * 40  # each forwarded address has a bucket of its own


def test_a_percent_encoded_query_key_never_reaches_the_access_log(tmp_path: Path) -> None:
    token = _store_with_key(tmp_path / "d")
    secret = token.rsplit("_", 1)[1]
    encoded = quote(token, safe="").replace("_", "%5F")
    with serve(tmp_path / "d", "--no-sample", GRIDCOVER_QUERY_KEY="true") as (base, log):
        r = httpx.get(f"{base}/collections?api%5Fkey={encoded}&f=json", timeout=30)
        assert r.status_code == 200, r.text
        r = httpx.get(f"{base}/collections?api%5Fkey={encoded}x", timeout=30)  # wrong key
        assert r.status_code == 401
        text = log.read_text(errors="replace")
    assert "GET /collections" in text  # the access log is on
    for variant in (text, unquote(text), unquote(unquote(text))):
        assert secret not in variant
