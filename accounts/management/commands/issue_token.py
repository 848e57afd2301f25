"""Issue an API token for a user; the raw token is the last line printed."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import tokens
from accounts.models import ApiToken, Team
from registry_site.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API token. Prints the raw token once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--team", help="limit the token to this team's slug")
        parser.add_argument(
            "--scope",
            action="append",
            choices=ApiToken.SCOPES,
            help="repeatable; default: read, write and deploy. tokens (managing tokens "
            "through the API) is never a default: name it to give it",
        )
        parser.add_argument("--expires-days", type=int)
        parser.add_argument("--name", default="", help="a label to recognize the token by")

    def handle(self, username, team=None, scope=None, expires_days=None, name="", **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        team_obj = None
        if team:
            team_obj = Team.objects.filter(slug=team).first()
            if team_obj is None:
                raise CommandError(f"No team {team!r}.")
        try:
            token, raw = tokens.issue(
                user,
                name=name or "issued by issue_token",
                scopes=scope,
                team=team_obj,
                expires_days=expires_days,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        expiry = token.expires_at.isoformat() if token.expires_at else "never"
        self.stdout.write(
            f"Token {token.prefix} for {username}: scopes {', '.join(token.scopes)}; "
            f"team {team or 'any'}; expires {expiry}. Store it now, it is not shown again:"
        )
        self.stdout.write(raw)
