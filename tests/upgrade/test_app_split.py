"""An instance made by the release before the apps were split upgrades with `migrate`
and loses nothing: every row of the tables that moved, their history rows, the content
hashes and the content types are the same afterwards, and the prompt is served as before."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

# The migrations of the release before the split: every app at its last migration then.
BEFORE_SPLIT = {
    "accounts": "0002_api_tokens",
    "prompts": "0007_prompt_by_name",
    "webhooks": "0001_initial",
}
MOVED = {
    # app after the split: its models that lived in prompts
    "reviews": ["review", "reviewrequest", "comment", "historicalreview", "historicalcomment"],
    "releases": ["environment", "deployment", "historicalenvironment", "historicaldeployment"],
    "serving": ["usage"],
}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _before_split_targets():
    graph = MigrationExecutor(connection).loader.graph
    apps_now = {app for app, _ in graph.leaf_nodes()}
    ours = set(BEFORE_SPLIT) | set(MOVED) | {"portable", "audit", "runs", "evaluations"}
    targets = [(app, name) for app, name in BEFORE_SPLIT.items()]
    # Apps of ours that did not exist then are unapplied entirely.
    targets += [(app, None) for app in sorted(apps_now & ours - set(BEFORE_SPLIT))]
    return targets


def _fill(apps) -> dict:
    """One row in every table that moves, with history, as the old release wrote them."""
    now = timezone.now()
    User = apps.get_model("auth", "User")
    Team = apps.get_model("accounts", "Team")
    ApiToken = apps.get_model("accounts", "ApiToken")
    Prompt = apps.get_model("prompts", "Prompt")
    Address = apps.get_model("prompts", "PromptAddress")
    Version = apps.get_model("prompts", "Version")
    Environment = apps.get_model("prompts", "Environment")
    Deployment = apps.get_model("prompts", "Deployment")
    Review = apps.get_model("prompts", "Review")
    ReviewRequest = apps.get_model("prompts", "ReviewRequest")
    Comment = apps.get_model("prompts", "Comment")
    Usage = apps.get_model("prompts", "Usage")
    HistoricalEnvironment = apps.get_model("prompts", "HistoricalEnvironment")
    HistoricalDeployment = apps.get_model("prompts", "HistoricalDeployment")
    HistoricalReview = apps.get_model("prompts", "HistoricalReview")
    HistoricalComment = apps.get_model("prompts", "HistoricalComment")

    ed = User.objects.create(username="ed", password="!")
    rita = User.objects.create(username="rita", password="!")
    team = Team.objects.create(slug="support", name="Support")
    token = ApiToken.objects.create(
        user=ed, name="svc", prefix="abcd1234", digest="d" * 64, scopes=["read"], team=team
    )
    prompt = Prompt.objects.create(
        team=team, slug="triage", name="Triage", author=ed, updated_at=now, search_text="triage"
    )
    Address.objects.create(team=team, slug="triage", prompt=prompt)
    version = Version.objects.create(
        prompt=prompt, number=1, template="Classify {{ t }}", author=ed, created_at=now,
        variables=[{"name": "t", "required": True}], content_hash="c" * 64,
    )  # fmt: skip
    Prompt.objects.filter(pk=prompt.pk).update(latest_version=version)
    env = Environment.objects.create(
        team=team, slug="production", name="Production", protected=True, required_approvals=1,
        is_default=True,
    )  # fmt: skip
    deployment = Deployment.objects.create(
        prompt=prompt, environment=env, version=version, effective_at=now, activated_at=now,
        actor=rita, note="ship it",
    )  # fmt: skip
    Review.objects.create(version=version, status="approved", requested_by=ed, updated_at=now)
    ReviewRequest.objects.create(version=version, reviewer=rita, requested_by=ed)
    comment = Comment.objects.create(version=version, author=rita, body="ok", verdict="approve")
    Usage.objects.create(
        prompt=prompt, version=version, environment="production", kind="resolve",
        caller=f"token:{token.pk}", token=token, user=ed, day=date.today(), count=7,
        last_seen=now,
    )  # fmt: skip
    history = {"history_date": now, "history_type": "+", "history_user": ed}
    HistoricalEnvironment.objects.create(
        id=env.pk, team=team, slug="production", name="Production", order=0, protected=True,
        required_approvals=1, is_default=True, requires_previous=False,
        history_change_reason="default environment", **history,
    )  # fmt: skip
    HistoricalDeployment.objects.create(
        id=deployment.pk, prompt=prompt, environment=env, version=version, kind="deploy",
        effective_at=now, activated_at=now, actor=rita, note="ship it", created_at=now,
        history_change_reason="deployed", **history,
    )  # fmt: skip
    HistoricalReview.objects.create(
        version=version, status="approved", requested_by=ed, updated_at=now,
        history_change_reason="approved", **history,
    )  # fmt: skip
    HistoricalComment.objects.create(
        id=comment.pk, version=version, author=rita, body="ok", verdict="approve",
        created_at=now, history_change_reason="commented", **history,
    )  # fmt: skip
    return {"prompt": prompt.pk, "version": version.pk, "env": env.pk, "token": token.pk}


@pytest.mark.django_db(transaction=True)
def test_an_instance_from_before_the_split_upgrades_without_loss():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old_apps = _migrate(_before_split_targets())
    ids = _fill(old_apps)
    ContentType = old_apps.get_model("contenttypes", "ContentType")
    for model in [m for models in MOVED.values() for m in models]:
        ContentType.objects.get_or_create(app_label="prompts", model=model)
    old_types = dict(
        ContentType.objects.filter(app_label="prompts").values_list("model", "pk")
    )

    _migrate(leaves)

    from django.contrib.contenttypes.models import ContentType as NewContentType

    from prompts.models import Prompt, Version
    from releases.live import live_deployment
    from releases.models import Deployment, Environment
    from reviews.models import Comment, Review, ReviewRequest
    from serving.models import Usage

    prompt = Prompt.objects.get(pk=ids["prompt"])
    version = Version.objects.get(pk=ids["version"])
    env = Environment.objects.get(pk=ids["env"])
    assert version.content_hash == "c" * 64
    assert prompt.latest_version_id == version.pk
    assert (env.slug, env.protected, env.required_approvals, env.is_default) == (
        "production", True, 1, True,
    )  # fmt: skip
    assert live_deployment(prompt, env, timezone.now() + timedelta(seconds=1)).note == "ship it"
    assert Review.objects.get(version=version).status == "approved"
    assert version.status == "approved"
    assert ReviewRequest.objects.get(version=version).reviewer.username == "rita"
    assert Comment.objects.get(version=version).verdict == "approve"
    assert Usage.objects.get(prompt=prompt).count == 7
    assert Usage.objects.get(prompt=prompt).token_id == ids["token"]
    for model, reason in [
        (Environment, "default environment"),
        (Deployment, "deployed"),
        (Review, "approved"),
        (Comment, "commented"),
    ]:
        assert [r.history_change_reason for r in model.history.all()] == [reason]
    # Content types (and with them permissions and admin log entries) followed the models.
    for app, models in MOVED.items():
        for model in models:
            moved = NewContentType.objects.get(app_label=app, model=model)
            assert moved.pk == old_types[model]
    assert not NewContentType.objects.filter(
        app_label="prompts", model__in=[m for ms in MOVED.values() for m in ms]
    ).exists()
