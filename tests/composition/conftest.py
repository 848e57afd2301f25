"""Snippets to include: support/safety (two versions, v1 live in development) and
support/tone; billing/legal in another team."""

import pytest

from prompts import services
from releases import services as releasing
from releases.environments import find_environment


def make(actor, team, slug, template, **extra):
    return services.create_prompt(actor, team, name=slug, slug=slug, template=template, **extra)


def add(actor, prompt, template, **extra):
    return services.add_version(actor, prompt, template=template, **extra)


def deploy(actor, prompt, environment, version):
    env = find_environment(prompt.team, environment)
    return releasing.deploy(actor, prompt, env, version, force=True)


@pytest.fixture
def safety(people):
    """support/safety: v1 "Be safe, {{ name }}." live in development; v2 latest."""
    snippet = make(
        people["ed"],
        people["support"],
        "safety",
        "Be safe, {{ name }}.",
        variables=[{"name": "name", "default": "friend"}],
        deploy_to="development",
    )
    add(people["ed"], snippet, "Be very safe, {{ name }}!", variables=[{"name": "name"}])
    snippet.refresh_from_db()
    return snippet


@pytest.fixture
def tone(people):
    return make(people["ed"], people["support"], "tone", "Speak kindly about {{ topic }}.")


@pytest.fixture
def legal(people):
    """billing/legal, which support's people cannot see."""
    return make(people["oscar"], people["billing"], "legal", "Legal: {{ clause }}")
