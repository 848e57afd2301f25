"""Evaluations: one version of a prompt run on the latest revision of a dataset.

``start_evaluation`` checks everything a client sent (a 4xx happens here, never in the
worker) and queues the run; evaluations/runner.py executes it in ``manage.py worker``.
Editors and above start and cancel evaluations; whoever may see the prompt sees them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.services import require
from evaluations import datasets
from evaluations.connecting import pick_model, team_connection
from evaluations.models import Evaluation
from prompts.models import Prompt, Version
from prompts.services import find_version
from registry_site.errors import Conflict, Invalid, NotFound
from releases.environments import find_environment
from releases.live import live_deployment
from runs import crypto
from runs.models import Connection


def _chosen_version(prompt: Prompt, version: Any, environment: Any) -> tuple[Version, str]:
    if version not in (None, "") and environment not in (None, ""):
        raise Invalid("Evaluate a version or an environment, not both.", {"field": "version"})
    if environment not in (None, ""):
        if not isinstance(environment, str):
            raise Invalid("environment is an environment's slug.", {"field": "environment"})
        env = find_environment(prompt.team, environment)
        live = live_deployment(prompt, env)
        if live is None:
            raise NotFound(
                f"Nothing of {prompt.address} is live in {env.slug}.", code="not_deployed"
            )
        return live.version, env.slug
    if version not in (None, ""):
        return find_version(prompt, version), ""
    if prompt.latest_version is None:
        raise NotFound(f"{prompt.address} has no version.")
    return prompt.latest_version, ""


def _check_judges(prompt: Prompt, checks: list[dict], connection: Connection, model: str) -> None:
    """A judge names a connection and model that exist, or uses the evaluation's."""
    for check in checks:
        if check["type"] != "judge":
            continue
        judge_connection = connection
        if check.get("connection"):
            judge_connection = team_connection(prompt, check["connection"], "checks")
        pick_model(judge_connection, check.get("model") or model, {}, "checks")


def start_evaluation(
    actor: Any,
    prompt: Prompt,
    *,
    dataset: Any,
    connection: Any,
    version: Any = None,
    environment: Any = None,
    model: Any = None,
) -> Evaluation:
    """Queue an evaluation of the version on the dataset's latest revision."""
    require(actor, "edit", prompt, "Only editors and above run evaluations.")
    datasets.check_writable(prompt)
    revision = datasets.latest_revision(prompt, dataset)
    if revision is None:
        raise Invalid(
            f"{prompt.address} has no dataset {str(dataset)[:64]!r}.", {"field": "dataset"}
        )
    chosen, env_slug = _chosen_version(prompt, version, environment)
    crypto.require_configured()
    found = team_connection(prompt, connection)
    model_name = pick_model(found, model, chosen.config or {})
    _check_judges(prompt, revision.checks, found, model_name)
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            prompt=prompt,
            version=chosen,
            revision=revision,
            environment=env_slug,
            connection=found,
            connection_name=found.name,
            model=model_name,
            total=len(revision.rows),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        enqueue(evaluation.pk)
    return evaluation


def enqueue(evaluation_id: int) -> None:
    """Queue the run. The database backend stores the job in this very transaction (no
    job without its evaluation, none lost); a broker is told only once it committed."""
    from evaluations.tasks import run_evaluation

    if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db."):
        run_evaluation.enqueue(evaluation_id)
    else:
        transaction.on_commit(lambda: run_evaluation.enqueue(evaluation_id))


def cancel_evaluation(actor: Any, evaluation: Evaluation) -> Evaluation:
    """Stop an evaluation: rows not yet started are not run."""
    require(actor, "edit", evaluation.prompt, "Only editors and above cancel evaluations.")
    if evaluation.finished:
        raise Conflict(
            f"Evaluation {evaluation.pk} already finished.", {"reason": evaluation.state}
        )
    Evaluation.objects.filter(pk=evaluation.pk).update(cancel_requested=True)
    # A queued one never started: it is cancelled at once (the worker skips it).
    Evaluation.objects.filter(pk=evaluation.pk, state=Evaluation.State.QUEUED).update(
        state=Evaluation.State.CANCELLED, finished_at=timezone.now()
    )
    evaluation.refresh_from_db()
    return evaluation


# ------------------------------------------------------------------ reading


def evaluations_of(actor: Any, prompt: Prompt, version: Any = None) -> QuerySet[Evaluation]:
    """The prompt's evaluations, newest first."""
    require(actor, "view", prompt, "No such prompt.")
    found = Evaluation.objects.filter(prompt=prompt)
    if version not in (None, ""):
        found = found.filter(version=find_version(prompt, version))
    return found.select_related("version", "revision__dataset").order_by("-created_at", "-pk")


def find_evaluation(actor: Any, prompt: Prompt, evaluation_id: Any) -> Evaluation:
    require(actor, "view", prompt, "No such prompt.")
    try:
        pk = int(evaluation_id)
    except (TypeError, ValueError):
        pk = 0
    found = (
        Evaluation.objects.filter(prompt=prompt, pk=pk)
        .select_related("version", "revision__dataset", "prompt__team")
        .first()
        if 0 < pk < 2**63
        else None
    )
    if found is None:
        raise NotFound("No such evaluation.")
    return found
