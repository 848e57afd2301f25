"""Resolve and render are throttled per token, with Retry-After, in the shared cache."""

import uuid

import pytest
from django.core.cache import caches
from rest_framework.settings import api_settings

from registry_site import throttling

P = "/api/v1/prompts/support/ticket-classifier"


@pytest.fixture
def tight(monkeypatch):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "fetch": "3/hour", "write": "2/hour"}
    monkeypatch.setattr(api_settings, "DEFAULT_THROTTLE_RATES", rates)


def test_resolve_is_throttled_per_token_with_retry_after(tight, as_user, prompt):
    service = as_user("vic", scopes=["read"])
    other = as_user("vic", scopes=["read"])
    statuses = [service.get(f"{P}/resolve?label=latest").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = service.get(f"{P}/resolve?label=latest")
    assert int(throttled["Retry-After"]) > 0
    assert throttled.json()["error"]["code"] == "throttled"
    assert other.get(f"{P}/resolve?label=latest").status_code == 200  # its own budget


def test_render_shares_the_fetch_budget(tight, as_user, prompt):
    service = as_user("vic", scopes=["read"])
    body = {"variables": {"ticket_text": "x"}, "version": 1}
    statuses = [service.post(f"{P}/render", body, format="json").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_writes_have_their_own_budget_and_reads_are_free(tight, as_user, prompt):
    ed = as_user("ed")
    for _ in range(5):
        assert ed.get(P).status_code == 200
    statuses = [ed.patch(P, {"description": f"d{i}"}, format="json").status_code for i in range(3)]
    assert statuses == [200, 200, 429]


def test_a_high_limit_is_counted_in_batches_and_still_holds(monkeypatch, as_user, prompt):
    # 200/hour: batches of 2 — half the requests add to the shared counter; one process
    # knows every count it made, so the 201st request is refused.
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "fetch": "200/hour"}
    monkeypatch.setattr(api_settings, "DEFAULT_THROTTLE_RATES", rates)
    added = []
    real_add = throttling._add
    monkeypatch.setattr(throttling, "_add", lambda *a: added.append(a[3]) or real_add(*a))
    service = as_user("vic", scopes=["read"])
    statuses = [service.get(f"{P}/resolve?label=latest").status_code for _ in range(201)]
    assert statuses == [200] * 200 + [429]
    assert len(added) == 100 and sum(added) == 200


def test_processes_sharing_a_counter_overshoot_by_less_than_a_batch_each():
    limit, batch = 1_000, 10
    key = f"throttle:test:{uuid.uuid4().hex}"
    processes = [throttling._Windows() for _ in range(3)]
    allowed = 0
    for i in range(3 * limit):
        if processes[i % 3].count(key, 60, batch) <= limit:
            allowed += 1
    assert limit <= allowed < limit + 3 * batch
    # Every request that reached the shared counter is there, denied ones included.
    assert caches["throttle"].get(key) >= 3 * limit - 3 * batch


def test_a_window_of_a_low_limit_counts_every_request_at_once():
    key = f"throttle:test:{uuid.uuid4().hex}"
    first, second = throttling._Windows(), throttling._Windows()
    assert [first.count(key, 60, 1), second.count(key, 60, 1), first.count(key, 60, 1)] == [1, 2, 3]
