"""Resolve and render are throttled per token, with Retry-After, in the shared cache."""

import pytest
from rest_framework.settings import api_settings

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
