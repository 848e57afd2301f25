"""Write teams' prompts as a tree of files: for git, backups and moving instances."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from accounts.permissions import can
from portable.cli import acting_user, progress, table
from portable.disk import write_tree
from portable.export import export_team, prompt_count
from registry_site.errors import DomainError


class Command(BaseCommand):
    help = (
        "Export prompts to DIR/<team>/<slug>/ (prompt.yaml and one file per version). "
        "The same data always gives the same bytes."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--team", action="append", dest="teams", help="only this team (repeatable)"
        )
        parser.add_argument(
            "--as", dest="username", help="act as this user (default: the first superuser)"
        )

    def handle(self, *args, directory: Path, teams=None, username=None, **options):
        actor = acting_user(username)
        chosen = self._teams(actor, teams)
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"{directory} is not a directory.")
        rows = []
        for team in chosen:
            try:
                with progress(prompt_count(team), team.slug) as tick:
                    tree = export_team(actor, team, tick=tick)
            except DomainError as exc:
                raise CommandError(f"{team.slug}: {exc.message}") from None
            counts = write_tree(directory, tree, [team.slug])
            prompts = sum(1 for path in tree if path.endswith("/prompt.yaml"))
            rows.append([team.slug, prompts, *counts.values()])
        self.stdout.write(table(rows, ["team", "prompts", "files written", "unchanged", "removed"]))
        self.stdout.write(f"Exported {len(chosen)} team(s) to {directory}.")

    def _teams(self, actor, slugs):
        if slugs:
            found = {t.slug: t for t in Team.objects.filter(slug__in=slugs)}
            missing = sorted(set(slugs) - set(found))
            if missing:
                raise CommandError(f"No team {', '.join(missing)}.")
            return [found[s] for s in sorted(found)]
        teams = [t for t in Team.objects.order_by("slug") if can(actor, "admin", t)]
        if not teams:
            raise CommandError(f"{actor.get_username()} is admin of no team.")
        return teams
