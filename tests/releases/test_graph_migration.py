"""The migration adding deployments' graphs keeps every deployment and its history:
an older deployment has no recorded graph and is not exact (it follows its snippets)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("releases", "0002_environment_required_evaluation")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_older_deployments_are_kept_without_a_graph(people, prompt):
    from releases.models import Deployment

    kept = list(Deployment.objects.values_list("pk", "version_id", "environment_id", "note"))
    assert kept
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old_apps = _migrate(BEFORE)
    Old = old_apps.get_model("releases", "Deployment")
    first = Old.objects.get(pk=kept[0][0])
    Old.objects.create(
        prompt_id=first.prompt_id, environment_id=first.environment_id,
        version_id=first.version_id, kind="rollback", effective_at=timezone.now(),
        activated_at=timezone.now(), note="made before graphs",
    )  # fmt: skip
    histories = old_apps.get_model("releases", "HistoricalDeployment").objects.count()

    _migrate(leaves)

    rows = Deployment.objects.order_by("pk")
    assert len(rows) == len(kept) + 1
    assert [(d.pk, d.version_id, d.environment_id, d.note) for d in rows[: len(kept)]] == kept
    assert {(d.graph, tuple(d.dependencies), d.exact) for d in rows} == {(None, (), False)}
    assert Deployment.history.model.objects.count() == histories
    assert {h.graph for h in Deployment.history.all()} == {None}
