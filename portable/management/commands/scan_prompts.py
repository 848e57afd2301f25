"""Find prompts written inline in Python code; with --apply, register them."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from portable.cli import acting_user, progress, table
from portable.registering import client_call, register, source_of
from portable.scanning import scan_path
from registry_site.errors import DomainError


class Command(BaseCommand):
    help = (
        "Find inline prompts in Python code (by its syntax tree): file, line, a suggested "
        "slug and the variables. --apply registers them in --team."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="a .py file or a folder")
        parser.add_argument("--team", help="the team to register the prompts in")
        parser.add_argument("--apply", action="store_true", help="register what was found")
        parser.add_argument(
            "--as", dest="username", help="act as this user (default: the first superuser)"
        )

    def handle(self, *args, path: Path, team=None, apply=False, username=None, **options):
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        findings, problems = scan_path(path)
        for problem in problems:
            self.stderr.write(f"! {problem}: skipped")
        rows = [[source_of(f), f.kind, f.slug, ", ".join(f.variables) or "-"] for f in findings]
        if rows:
            self.stdout.write(table(rows, ["where", "kind", "suggested slug", "variables"]))
        self.stdout.write(f"{len(findings)} inline prompt(s) found.")
        if apply:
            self._apply(findings, team, username)
        elif findings:
            self.stdout.write("Run again with --apply --team TEAM to register them.")

    def _apply(self, findings, team_slug, username) -> None:
        if not team_slug:
            raise CommandError("--apply needs --team TEAM.")
        team = Team.objects.filter(slug=team_slug).first()
        if team is None:
            raise CommandError(f"No team {team_slug}.")
        actor = acting_user(username)
        rows, failed = [], []
        with progress(len(findings), "register") as tick:
            for finding in findings:
                try:
                    status = register(actor, team, finding)
                except DomainError as exc:
                    failed.append(f"{source_of(finding)}: {exc.message}")
                    status = "error"
                rows.append([source_of(finding), status, client_call(team, finding)])
                tick()
        self.stdout.write(table(rows, ["where", "result", "replace the inline prompt with"]))
        if failed:
            raise CommandError("Not registered:\n" + "\n".join(failed))
