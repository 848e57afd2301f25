"""Create a team with its default environments, and name its first admin."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from registry_site.errors import DomainError


class Command(BaseCommand):
    help = "Create a team (development, staging, production) and make a user its admin."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("name")
        parser.add_argument("--admin", required=True, help="username of the team's first admin")

    def handle(self, slug, name, admin, **options):
        user = get_user_model().objects.filter(username=admin, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {admin!r}.")
        # The operator acts with staff rights; the team's admin is the user named.
        operator = get_user_model()(pk=user.pk, username=admin, is_staff=True, is_active=True)
        try:
            team = services.create_team(operator, slug, name)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created team {team.slug} with admin {admin}.")
