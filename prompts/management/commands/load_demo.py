"""Fill a development registry with two teams, people of every role and real-looking prompts.

Everything is made through the services, as the people of the demo would make it, so
the demo obeys every rule (reviews, approvals, release policy) and shows it.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services as accounts
from accounts.models import Team
from prompts import services
from releases import services as deployments
from releases.environments import environments_of
from reviews import services as review

PEOPLE = [
    # username, team, role
    ("alice", "support", "admin"),
    ("rita", "support", "reviewer"),
    ("ed", "support", "editor"),
    ("vic", "support", "viewer"),
    ("oscar", "growth", "admin"),
    ("gwen", "growth", "editor"),
]

PROMPTS = {
    "support": [
        (
            "Ticket classifier",
            ["triage", "classification"],
            [
                "Classify this support ticket into billing, bug, or question.\n\n{{ ticket_text }}",
                "You are a support triage assistant for {{ product }}.\nClassify the ticket into "
                "one of: billing, bug, feature_request, question.\nAnswer with the label only.\n\n"
                "Ticket:\n{{ ticket_text }}",
                "You are a support triage assistant for {{ product }}.\nClassify the ticket into "
                "one of: billing, bug, feature_request, question, abuse.\nAnswer with the label "
                "only.\n\nTicket:\n{{ ticket_text }}",
            ],
        ),
        (
            "Reply drafter",
            ["drafting"],
            [
                "Draft a polite reply to {{ customer_name }} about: {{ issue_summary }}",
                "Draft a reply to {{ customer_name }}.\nTone: {{ tone }}.\n"
                "Issue: {{ issue_summary }}\n"
                "{% if order_id %}Reference order {{ order_id }}.{% endif %}\n"
                "Sign as the {{ product }} support team.",
            ],
        ),
        (
            "Ticket summarizer",
            ["summaries"],
            [
                "Summarize the conversation below in three bullet points.\n\n{{ transcript }}",
                "Summarize the conversation below in at most {{ max_bullets }} bullet points, "
                "then name the customer's sentiment.\n\n{{ transcript }}",
            ],
        ),
        (
            "Refund policy answer",
            ["billing", "policy"],
            [
                "Explain our refund policy to a customer who bought {{ plan }} {{ days_ago }} days "
                "ago. Refunds are possible within 30 days.",
            ],
        ),
        (
            "Escalation detector",
            ["triage"],
            [
                "Does this message need a human right away? Answer yes or no.\n\n{{ message }}",
                "Decide whether this message needs a human right away (threats, legal, outage, "
                "VIP). Answer yes or no, then one sentence why.\n\n{{ message }}",
            ],
        ),
        (
            "Knowledge base answer",
            ["rag"],
            [
                "Answer the question using only these articles:\n{% for a in articles %}- {{ a }}\n"
                "{% endfor %}\nQuestion: {{ question }}",
            ],
        ),
    ],
    "growth": [
        (
            "Onboarding email",
            ["email", "lifecycle"],
            [
                "Write a welcome email to {{ first_name }} who just signed up for {{ plan }}.",
                "Write a short welcome email to {{ first_name }} who just signed up for {{ plan }}."
                "\nMention one feature: {{ feature }}. Keep it under 120 words.",
            ],
        ),
        (
            "Churn survey summary",
            ["research"],
            [
                "Group these churn survey answers into themes and count them:\n{{ answers }}",
            ],
        ),
        (
            "Ad copy variants",
            ["ads"],
            [
                "Write {{ count }} headlines for {{ product }} aimed at {{ audience }}.",
                "Write {{ count }} headlines (max 40 characters) for {{ product }} aimed at "
                "{{ audience }}. Avoid superlatives.",
                "Write {{ count }} headlines (max 40 characters) for {{ product }} aimed at "
                "{{ audience }}. Avoid superlatives and exclamation marks.",
            ],
        ),
        (
            "Release notes writer",
            ["docs"],
            [
                "Turn these merged changes into customer-facing release notes:\n{{ changes }}",
            ],
        ),
        ("Persona interview bot", ["research", "chat"], []),
        (
            "Pricing page FAQ",
            ["web"],
            [
                "Answer this pricing question in two sentences: {{ question }}",
                "Answer this pricing question in two sentences, linking the plan page when useful:"
                " {{ question }}",
            ],
        ),
    ],
}

CHAT = [
    {
        "role": "system",
        "content": "You play {{ persona }}, a potential customer of "
        "{{ product }}. Stay in character.",
    },
    {"role": "user", "content": "{{ question }}"},
]


class Command(BaseCommand):
    help = "Load demo teams, people and prompts (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="load even when DEBUG is off")

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for development: DEBUG is off (use --force).")
        User = get_user_model()
        if not Team.objects.filter(slug="support").exists():
            with transaction.atomic():
                self._load(User)
        self._print_sign_in(User)

    def _load(self, User) -> None:
        root = User.objects.filter(username="admin").first() or User.objects.create_superuser(
            "admin", "admin@example.com", "admin-demo"
        )
        for username, _, _ in PEOPLE:
            if not User.objects.filter(username=username).exists():
                User.objects.create_user(username, f"{username}@example.com", f"{username}-demo")
        teams = {
            "support": accounts.create_team(root, "support", "Customer Support"),
            "growth": accounts.create_team(root, "growth", "Growth"),
        }
        for username, team, role in PEOPLE:
            accounts.set_role(root, teams[team], username, role)
        for slug, prompts in PROMPTS.items():
            self._load_prompts(root, teams[slug], prompts)

    def _load_prompts(self, root, team, prompts) -> None:
        editor = get_user_model().objects.get(username="ed" if team.slug == "support" else "gwen")
        reviewer = get_user_model().objects.get(
            username="rita" if team.slug == "support" else "oscar"
        )
        envs = {e.slug: e for e in environments_of(team)}
        for name, tags, templates in prompts:
            first = {"messages": CHAT} if not templates else {"template": templates[0]}
            prompt = services.create_prompt(
                editor,
                team,
                name=name,
                tags=tags,
                description=f"{name} for the {team.name} team.",
                config={"model": "gpt-4o-mini", "temperature": 0.2},
                change_note="First draft",
                deploy_to="development",
                **first,
            )
            for number, template in enumerate(templates[1:], start=2):
                services.add_version(
                    editor,
                    prompt,
                    template=template,
                    config={"model": "gpt-4o-mini", "temperature": 0.2},
                    change_note=f"Revision {number}: clearer instructions",
                    deploy_to="development",
                    # Revisions add variables; development's callers are the authors.
                    force=True,
                )
            self._release(editor, reviewer, prompt, envs)

    def _release(self, editor, reviewer, prompt, envs) -> None:
        """The latest version through review to production, as the team would: the
        author asks the reviewer, who approves it (never their own) and releases it."""
        version = prompt.latest_version
        review.request_review(
            editor, version, note="Ready for production?", reviewers=[reviewer.username]
        )
        review.add_comment(
            reviewer, version, body="Reads well; approved for production.", verdict="approve"
        )
        deployments.deploy(editor, prompt, envs["staging"], version, note="Ready for staging")
        deployments.deploy(
            reviewer, prompt, envs["production"], version, note="Reviewed and released"
        )

    def _print_sign_in(self, User) -> None:
        self.stdout.write("Demo registry ready. Sign in at http://127.0.0.1:8000/accounts/login/")
        self.stdout.write("  admin / admin-demo (superuser)")
        for username, team, role in PEOPLE:
            self.stdout.write(f"  {username} / {username}-demo  ({role} of {team})")
