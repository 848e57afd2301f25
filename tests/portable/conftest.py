"""A realistic registry to export: two teams, text and chat prompts, unicode, Jinja
statements and raw blocks, declared variables, renamed and archived prompts, and
deployments in several environments."""

from datetime import timedelta

import pytest
from django.utils import timezone

from prompts import services
from releases import services as deployments
from releases.models import Environment
from tests.conftest import make_user


@pytest.fixture
def root(db):
    return make_user("root", is_superuser=True, is_staff=True)


def _env(team, slug):
    return Environment.objects.get(team=team, slug=slug)


@pytest.fixture
def library(people, root):
    support, billing = people["support"], people["billing"]
    ed, rita, oscar = people["ed"], people["rita"], people["oscar"]
    classifier = services.create_prompt(
        ed,
        support,
        name="Ticket classifier",
        slug="ticket-classifier",
        description="Sorts tickets — into queues.\nSecond line.",
        tags=["triage", "classification"],
        template="Classify: {{ ticket_text }} for {{ product }}",
        variables=[{"name": "product", "default": "Acme", "description": "brand name"}],
        config={"model": "gpt-4o-mini", "temperature": 0.2, "stop": ["\n\n"]},
        change_note="first",
        deploy_to="development",
    )
    services.add_version(
        ed,
        classifier,
        template=(
            "Classify the ticket into one of: billing, bug, question.\n"
            "{% if vip %}Treat it as urgent.{% endif %}\n"
            "Ticket:\n{{ ticket_text }}\n"
        ),
        config={"model": "gpt-4o", "nested": {"b": 1, "a": [1, 2.5, None, True]}},
        change_note="labels: billing, bug — question",
        deploy_to="development",
        force=True,
    )
    deployments.deploy(
        rita, classifier, _env(support, "staging"), classifier.versions.get(number=1)
    )
    services.create_prompt(
        rita,
        support,
        name="Réponse client 日本語",
        slug="reply-drafter",
        template="Écris une réponse à {{ name }} 🙂\nSigné : l’équipe",
        change_note="première version ✓",
    )
    raw = services.create_prompt(
        ed,
        support,
        name="Raw example",
        slug="raw-example",
        template="Show the syntax literally: {% raw %}{{ not_a_variable }}{% endraw %} "
        "and use {{ real }}.",
        change_note="",
    )
    services.add_version(ed, raw, template="Windows line ends\r\nand {{ real }}\r\n")
    chat = services.create_prompt(
        ed,
        support,
        name="Persona bot",
        slug="persona-bot",
        messages=[
            {"role": "system", "content": "You play {{ persona }}.\nStay in character."},
            {"role": "user", "content": "{{ question }}"},
        ],
        variables=[{"name": "persona", "required": False}],
        config={"model": "gpt-4o-mini"},
        change_note="chat",
        deploy_to="staging",
    )
    services.update_prompt(ed, chat, slug="persona-chat", reason="clearer name")
    old = services.create_prompt(ed, support, name="Old", slug="old", template="Retired {{ x }}")
    services.archive_prompt(people["alice"], old)
    later = timezone.now() + timedelta(days=3)
    deployments.deploy(
        rita,
        classifier,
        _env(support, "staging"),
        classifier.versions.get(number=2),
        when=later,
        force=True,
    )
    services.create_prompt(
        oscar,
        billing,
        name="Invoice reminder",
        slug="invoice-reminder",
        template="Dear {{ customer }}, your invoice {{ number }} is due.",
        deploy_to="development",
    )
    return {"support": support, "billing": billing, "classifier": classifier}
