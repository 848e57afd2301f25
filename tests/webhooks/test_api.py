"""The webhook endpoints: team admins only, every refusal in the error body."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as accounts
from registry_site.errors import Invalid
from webhooks import events
from webhooks import services as webhooks
from webhooks.models import Attempt, Delivery, Webhook

W = "/api/v1/teams/support/webhooks"
GOOD = {"url": "https://hooks.example.com/in", "events": ["version.created"]}


@pytest.fixture
def delivery(people, hook):
    return webhooks.send_test(people["alice"], hook)


def endpoints(hook, delivery) -> list[tuple[str, str, dict | None, int]]:
    one = f"{W}/{hook.pk}"
    return [
        ("get", W, None, 200),
        ("post", W, GOOD, 201),
        ("get", one, None, 200),
        ("patch", one, {"description": "new"}, 200),
        ("post", f"{one}/rotate-secret", None, 200),
        ("post", f"{one}/ping", None, 201),
        ("get", f"{one}/deliveries", None, 200),
        ("post", f"{one}/deliveries/{delivery.pk}/redeliver", None, 200),
        ("delete", one, None, 204),
    ]


def call(client, method: str, url: str, body: dict | None):
    return getattr(client, method)(url, body, format="json")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


# ---------------------------------------------------------------- who may


def test_team_admins_may_do_everything(as_user, hook, delivery):
    for method, url, body, status in endpoints(hook, delivery):
        response = call(as_user("alice"), method, url, body)
        assert response.status_code == status, (method, url, response.content)


@pytest.mark.parametrize("username", ["vic", "ed", "rita"])
def test_members_who_are_not_admins_are_refused_with_a_reason(as_user, hook, delivery, username):
    for method, url, body, _ in endpoints(hook, delivery):
        error = assert_error(call(as_user(username), method, url, body), 403, "forbidden")
        assert error["details"]["reason"] == "role"
    assert Webhook.objects.filter(pk=hook.pk, description="chat bot").exists()


def test_outsiders_and_one_prompt_grantees_see_nothing(as_user, people, prompt, hook, delivery):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "admin")
    for username in ["oscar", "gina"]:
        for method, url, body, _ in endpoints(hook, delivery):
            assert_error(call(as_user(username), method, url, body), 404, "not_found")


def test_anonymous_callers_must_sign_in(hook, delivery):
    for method, url, body, _ in endpoints(hook, delivery):
        assert_error(call(APIClient(), method, url, body), 401, "unauthenticated")


def test_a_read_token_cannot_see_secrets_or_change_webhooks(as_user, hook, delivery):
    client = as_user("alice", scopes=["read"])
    for method, url, body, _ in endpoints(hook, delivery):
        assert_error(call(client, method, url, body), 403, "forbidden")


def test_a_token_of_another_team_sees_nothing(as_user, people, hook, delivery):
    accounts.set_role(people["oscar"], people["billing"], "alice", "admin")
    client = as_user("alice", team=people["billing"])
    for method, url, body, _ in endpoints(hook, delivery):
        assert_error(call(client, method, url, body), 404, "not_found")


def test_unknown_ids_and_other_teams_webhooks_are_not_found(as_user, people, hook, delivery):
    theirs = webhooks.create_webhook(
        people["oscar"], people["billing"], url="https://b.example.com/", events=["prompt.archived"]
    )
    alice = as_user("alice")
    for url in [
        f"{W}/999999",
        f"{W}/{theirs.pk}",
        f"{W}/{10**20}",
        f"/api/v1/teams/billing/webhooks/{theirs.pk}",
        f"{W}/{hook.pk}/deliveries/999999/redeliver",
    ]:
        method = "post" if url.endswith("redeliver") else "get"
        assert_error(call(alice, method, url, None), 404, "not_found")
    other = webhooks.create_webhook(people["alice"], people["support"], **GOOD)
    assert_error(
        call(alice, "post", f"{W}/{other.pk}/deliveries/{delivery.pk}/redeliver", None),
        404,
        "not_found",
    )


# ---------------------------------------------------------------- what it does


def test_a_webhook_is_created_with_a_secret_and_listed(as_user, people):
    response = as_user("alice").post(
        W,
        {**GOOD, "events": ["prompt.archived", "version.created", "version.created"]},
        format="json",
    )
    assert response.status_code == 201
    made = response.json()
    assert made["url"] == GOOD["url"]
    assert made["events"] == ["version.created", "prompt.archived"]  # once each, in order
    assert made["active"] is True and made["created_by"] == "alice"
    assert len(made["secret"]) == 64
    listed = as_user("alice").get(W).json()
    assert [w["id"] for w in listed] == [made["id"]]
    record = Webhook.objects.get(pk=made["id"]).history.get()
    assert record.history_user == people["alice"]
    assert "added" in record.history_change_reason


def test_a_webhook_is_changed_rotated_and_deleted(as_user, people, hook):
    alice = as_user("alice")
    changed = alice.patch(
        f"{W}/{hook.pk}", {"events": ["review.verdict"], "active": False}, format="json"
    ).json()
    assert changed["events"] == ["review.verdict"] and changed["active"] is False
    assert changed["url"] == hook.url
    rotated = alice.post(f"{W}/{hook.pk}/rotate-secret").json()
    assert rotated["secret"] != hook.secret
    reasons = list(hook.history.values_list("history_change_reason", flat=True))
    assert "secret rotated" in reasons and "changed active, events" in reasons
    assert alice.delete(f"{W}/{hook.pk}").status_code == 204
    assert alice.get(f"{W}/{hook.pk}").status_code == 404
    assert hook.history.first().history_type == "-"


def test_the_secret_is_shown_at_creation_and_rotation_only(as_user):
    alice = as_user("alice")
    made = alice.post(W, GOOD, format="json").json()
    secret = made["secret"]
    assert len(secret) == 64
    one = f"{W}/{made['id']}"
    later = [
        alice.get(W),
        alice.get(one),
        alice.patch(one, {"description": "receiver"}, format="json"),
        alice.post(f"{one}/ping"),
        alice.get(f"{one}/deliveries"),
    ]
    for response in later:
        assert response.status_code in (200, 201)
        assert secret not in response.content.decode()
    assert "secret" not in alice.get(W).json()[0]
    assert "secret" not in alice.get(one).json()

    rotated = alice.post(f"{one}/rotate-secret").json()["secret"]
    assert rotated != secret and rotated == Webhook.objects.get().secret
    assert rotated not in alice.get(one).content.decode()
    assert rotated not in alice.get(W).content.decode()


def test_the_delivery_log_is_newest_first_and_paged(as_user, people, hook):
    for _ in range(3):
        webhooks.send_test(people["alice"], hook)
    log = as_user("alice").get(f"{W}/{hook.pk}/deliveries?page_size=2").json()
    assert log["count"] == 3 and log["next"]
    ids = [d["id"] for d in log["results"]]
    assert ids == sorted(ids, reverse=True)
    first = log["results"][0]
    assert first["event"] == "ping" and first["status"] == "pending"
    assert first["attempts"] == [] and first["next_attempt_at"]


def test_redeliver_queues_a_delivery_again(as_user, people, hook, delivery):
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", failures=8, attempts=8)
    response = as_user("alice").post(f"{W}/{hook.pk}/deliveries/{delivery.pk}/redeliver")
    assert response.status_code == 200
    shown = response.json()
    assert shown["status"] == "pending" and shown["redelivered_by"] == "alice"
    assert Delivery.objects.get(pk=delivery.pk).failures == 0


def test_the_delivery_log_costs_the_same_queries_however_long(as_user, people, hook):
    client = as_user("alice")
    url = f"{W}/{hook.pk}/deliveries"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    webhooks.send_test(people["alice"], hook)
    queries()  # warm the caller's grants
    few = queries()
    for _ in range(5):
        made = webhooks.send_test(people["alice"], hook)
        Attempt.objects.create(
            delivery=made, number=1, started_at=made.created_at, duration_ms=5, status_code=500
        )
    assert queries() == few


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "body",
    [
        {**GOOD, "url": "ftp://hooks.example.com/"},
        {**GOOD, "url": "not a url"},
        {**GOOD, "url": "https://"},
        {**GOOD, "url": "https://user:pw@hooks.example.com/"},
        {**GOOD, "url": "https://hooks.example.com:99999/"},
        {**GOOD, "url": "javascript:alert(1)"},
        {**GOOD, "url": "https://hooks.example.com/a b"},
        {**GOOD, "url": 12},
        {**GOOD, "events": ["version.deleted"]},
        {**GOOD, "events": "version.created"},
        {**GOOD, "events": []},
        {**GOOD, "events": [1]},
        {**GOOD, "active": "sometimes"},
        {**GOOD, "description": "x" * 201},
        {"url": GOOD["url"]},
        {"events": GOOD["events"]},
        ["not", "an", "object"],
    ],
)
def test_bad_input_is_refused_and_writes_nothing(as_user, people, body):
    error = assert_error(as_user("alice").post(W, body, format="json"), 400, "invalid")
    assert isinstance(error["details"], dict)
    assert not Webhook.objects.exists()


def test_bad_changes_are_refused_and_change_nothing(as_user, hook):
    for body in [{"url": "gopher://x.example.com/"}, {"events": ["nope"]}, {"url": None}]:
        response = as_user("alice").patch(f"{W}/{hook.pk}", body, format="json")
        assert_error(response, 400, "invalid")
    hook.refresh_from_db()
    assert hook.url == "https://hooks.example.com/registry"
    assert hook.events == list(events.EVENTS)


def test_the_service_names_the_field_and_the_allowed_events(as_user, people):
    with pytest.raises(Invalid) as refused:
        webhooks.create_webhook(
            people["alice"], people["support"], url=GOOD["url"], events=["version.deleted"]
        )
    assert refused.value.details["field"] == "events"
    assert refused.value.details["unknown"] == ["version.deleted"]
    assert "prompt.archived" in refused.value.details["allowed"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://ci-bot/hook",
        "http://[::1]:9000/x?y=1",
        "https://hooks.example.com/in#frag",
    ],
)
def test_internal_hosts_and_ports_are_fine_once_their_network_is_allowed(people, settings, url):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    made = webhooks.create_webhook(
        people["alice"], people["support"], url=url, events=["version.created"]
    )
    assert made.url == url
