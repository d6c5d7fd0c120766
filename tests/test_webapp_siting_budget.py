"""Siting within a budget in the web app (headless Chromium, outside requests aborted): the
planner enters a budget beside K, runs the siting job, and the results table lists model,
price and total cost; the total stays within the budget and equals what the API gives for
the same request (an independent HTTP call, polled to the end, and its proposals summed).

Without Chromium or Playwright the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from webapp_browser import Env, Log, new_context, open_app, sample_env

pytestmark = pytest.mark.chromium

BUDGET = 9000.0


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with sample_env(tmp_path_factory.mktemp("webapp_budget")) as e:
        yield e


def _api_siting(env: Env, body: dict[str, float]) -> tuple[dict, list[dict]]:
    """The API's own answer: POST /analysis/siting, poll the job, read its proposals."""
    h = env.h("planner")
    job = httpx.post(f"{env.base}/analysis/siting", json=body, headers=h, timeout=60)
    assert job.status_code == 201, job.text
    url = f"{env.base}/jobs/{job.json()['jobID']}"
    end = time.monotonic() + 300
    doc = httpx.get(url, headers=h, timeout=60).json()
    while doc["status"] not in ("successful", "failed") and time.monotonic() < end:
        time.sleep(1.0)
        doc = httpx.get(url, headers=h, timeout=60).json()
    assert doc["status"] == "successful", doc
    items = httpx.get(f"{env.base}/collections/siting_proposals/items",
                      params={"limit": 1000}, headers=h, timeout=60).json()  # fmt: skip
    return doc, [f["properties"] for f in items["features"]]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_siting_within_a_budget_shows_models_prices_and_the_apis_total(env: Env, lang: str) -> None:
    log = Log()
    ctx = new_context(env.b, log, lang)
    page = open_app(ctx, env.base, env.keys["planner"], log)
    page.click('[data-tab="jobs"]')
    label = page.inner_text("#job-form label:has(input[name=budget])")
    assert label.strip() == {"zh": "预算（元）", "en": "Budget (CNY)"}[lang]
    page.select_option("#job-form select[name=kind]", "siting")
    page.fill("#job-form input[name=budget]", f"{BUDGET:g}")
    page.click("#job-form button[type=submit]")
    page.wait_for_selector("#job-result table.siting-result", timeout=300_000)
    rows = page.evaluate(
        "[...document.querySelectorAll('#job-result tbody tr')].map((r) => "
        "[r.dataset.camera, r.querySelector('[data-col=model]').textContent, "
        "Number(r.querySelector('[data-col=price]').dataset.value)])"
    )
    total = float(page.get_attribute("#job-result [data-total]", "data-total"))
    head = page.inner_text("#job-result thead")
    foot = page.inner_text("#job-result tfoot")
    job_id = page.get_attribute("#job-result table", "data-job")
    ctx.close()
    assert rows and 0 < total <= BUDGET
    assert total == pytest.approx(sum(p for _, _, p in rows))
    want = {"zh": ("型号", "单价（元）", "合计"), "en": ("Model", "Price (CNY)", "Total")}[lang]
    assert all(w in head + foot for w in want)
    # the app sent the budget (and no K): the job's own parameters say so
    mine = httpx.get(f"{env.base}/jobs/{job_id}", headers=env.h("reader"), timeout=60).json()
    assert mine["parameters"]["budget"] == BUDGET and mine["parameters"]["k"] is None
    # an independent call with the same request gives the same cameras and the same cost
    doc, props = _api_siting(env, {"budget": BUDGET})
    assert doc["summary"]["cost"] == pytest.approx(total)
    assert sum(p["price"] for p in props) == pytest.approx(total)
    assert sorted((p["camera_id"], p["model"], p["price"]) for p in props) == sorted(
        map(tuple, rows)
    )
    assert log.outside == [] and log.clean() == []
