"""The resolve cache's guarantees beyond the happy path: what another process writes
counts at once, and a lost generation token never makes old entries valid again."""

import pytest
from django.core.cache import cache as shared

from accounts import permissions
from accounts import services as accounts
from prompts import cache, services
from releases import services as deployments
from serving.services import resolve


def _forget_this_process() -> None:
    cache.pointers.clear()
    cache.payloads.clear()
    permissions._held.clear()


def test_a_pointer_held_in_this_process_yields_to_a_new_generation(people, prompt):
    vic = people["vic"]
    assert (
        resolve(vic, "support", "ticket-classifier", environment="development").payload["version"]
        == 1
    )
    assert len(cache.pointers) == 1
    v2 = services.add_version(people["ed"], prompt, template="New {{ ticket_text }}")
    # Another process deploys: only the shared token changes; this process's pointer is
    # still the old one, and must not be trusted.
    held = dict(cache.pointers.items)
    deployments.deploy(people["ed"], prompt, prompt.team.environments.get(slug="development"), v2)
    cache.pointers.items.update(held)
    assert (
        resolve(vic, "support", "ticket-classifier", environment="development").payload["version"]
        == 2
    )


def test_an_evicted_generation_does_not_revive_older_pointers(people, prompt):
    vic = people["vic"]
    resolve(vic, "support", "ticket-classifier", environment="development")
    # An old pointer tagged with "no token", as written when the team had none.
    old_pointers = {
        k: {**v, "gen": None} for k, v in shared.get_many(list(_pointer_keys())).items()
    }
    assert old_pointers
    dev = prompt.team.environments.get(slug="development")
    v2 = services.add_version(people["ed"], prompt, template="New {{ ticket_text }}")
    deployments.deploy(people["ed"], prompt, dev, v2)
    # The cache loses the team's token, while an old pointer survives somewhere.
    shared.delete(cache.generation_key("support"))
    shared.set_many(old_pointers)
    _forget_this_process()
    assert (
        resolve(vic, "support", "ticket-classifier", environment="development").payload["version"]
        == 2
    )
    assert shared.get(cache.generation_key("support")) is not None


def _pointer_keys():
    yield cache.pointer_key("support", "ticket-classifier", "env:development")


def test_rights_held_in_this_process_yield_to_a_role_change(people, prompt):
    vic = people["vic"]
    assert permissions.can(vic, "view", prompt)
    assert not permissions.can(vic, "edit", prompt)
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    assert permissions.can(vic, "edit", prompt)  # same object, same process: at once


def test_rights_survive_a_lost_generation_token_without_going_stale(people, prompt):
    vic = people["vic"]
    assert permissions.can(vic, "view", prompt)
    accounts.remove_member(people["alice"], people["support"], "vic")
    shared.delete(f"aclgen:{vic.pk}")
    assert not permissions.can(vic, "view", prompt)


def test_process_memos_are_bounded():
    memo = cache.Memo(3)
    for i in range(10):
        memo.put(i, {"i": i})
    assert len(memo) == 3
    assert memo.get(9) == {"i": 9} and memo.get(0) is None


def test_a_full_scan_resistant_memo_admits_a_key_on_its_second_offer():
    memo = cache.Memo(8, scan_resistant=True)
    for i in range(8):
        memo.put(i, {"i": i})  # not full yet: admitted at once
    assert len(memo) == 8
    for i in (100, 101):
        memo.put(i, {"i": i})  # one-off keys of a scan
    assert memo.get(100) is None and [memo.get(i) for i in range(8)] == [{"i": i} for i in range(8)]
    memo.put(100, {"i": 100})  # offered again: in steady use after all
    assert memo.get(100) == {"i": 100} and len(memo) == 8 and memo.get(0) is None


@pytest.mark.parametrize("scan_resistant, most", [(True, 100_000 // 12), (False, 100_000)])
def test_a_scan_of_one_off_keys_barely_churns_a_full_memo(scan_resistant, most):
    memo = cache.Memo(1_000, scan_resistant=scan_resistant)
    for key in range(1_000):
        memo.put(key, key)
    admitted = 0
    for key in range(10_000, 110_000):  # every prompt fetched once
        memo.put(key, key)
        admitted += key in memo.items
    assert len(memo) == 1_000
    assert admitted <= most and (scan_resistant or admitted == most)
