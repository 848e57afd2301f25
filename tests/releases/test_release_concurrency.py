"""Deploys and rollbacks racing on one environment leave one live version and a release
log with exactly one entry per success (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from prompts import services
from registry_site.errors import Conflict
from releases import services as deployments
from releases.live import live_deployment, live_ids
from releases.models import Deployment, Environment

CALLERS = 10


@pytest.mark.django_db(transaction=True)
def test_ten_deploys_and_rollbacks_at_once_leave_one_live_version(people, prompt):
    dev = Environment.objects.get(team=prompt.team, slug="development")
    versions = [
        services.add_version(people["ed"], prompt, template=f"v{i} {{{{ ticket_text }}}}")
        for i in range(2, 5)
    ]
    deployments.deploy(people["ed"], prompt, dev, versions[0])  # something to roll back to
    before = Deployment.objects.filter(prompt=prompt, environment=dev).count()
    barrier = threading.Barrier(CALLERS)
    made: list[Deployment] = []
    refused: list[Conflict] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def act(i: int) -> None:
        try:
            barrier.wait()
            if i % 2:
                result = deployments.rollback(people["rita"], prompt, dev, note=f"caller {i}")
            else:
                version = versions[i % len(versions)]
                result = deployments.deploy(people["ed"], prompt, dev, version, note=f"caller {i}")
            with lock:
                made.append(result)
        except Conflict as exc:  # a rollback with nothing to go back to, or a lost race
            with lock:
                refused.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=act, args=(i,)) for i in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(made) + len(refused) == CALLERS
    assert len(made) >= 1
    log = list(
        Deployment.objects.filter(prompt=prompt, environment=dev).order_by("effective_at", "id")
    )
    assert len(log) == before + len(made)  # one entry per success, none for a refusal
    assert {d.note for d in log[before:]} == {d.note for d in made}
    live = live_ids(prompt)
    assert len(live & {d.pk for d in log}) == 1
    assert live_deployment(prompt, dev).pk == log[-1].pk
    # Each rollback brought back a version other than the one live just before it: the
    # writers took turns, none acted on a state another had already changed.
    current = None
    for entry in log:
        if entry.kind == Deployment.Kind.ROLLBACK:
            assert entry.version_id != current
        current = entry.version_id
