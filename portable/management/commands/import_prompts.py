"""Import a tree written by export_prompts (or by hand), or an archive of one as the API
exports it: what is missing is created, nothing that exists is rewritten, each prompt
all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portable.cli import acting_user, progress, table
from portable.disk import read_files
from portable.importing import ImportReport, count_prompts, import_tree
from registry_site.errors import DomainError


class Command(BaseCommand):
    help = (
        "Import prompts from DIR/<team>/<slug>/, as written by export_prompts, or from a "
        "tar.gz or zip archive of such a tree."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--team", help="only this team's folder")
        parser.add_argument("--into", help="import the one team of the files into this team")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change; write nothing"
        )
        parser.add_argument(
            "--append-conflicts",
            action="store_true",
            help="add a version whose content differs from the stored one as a new version",
        )
        parser.add_argument(
            "--as", dest="username", help="act as this user (default: the first superuser)"
        )

    def handle(self, *args, directory: Path, **options):
        try:
            files = read_files(directory)
            actor = acting_user(options["username"])
            with progress(count_prompts(files), "import") as tick:
                report = import_tree(
                    actor,
                    files,
                    team=options["team"],
                    into=options["into"],
                    dry_run=options["dry_run"],
                    append_conflicts=options["append_conflicts"],
                    tick=tick,
                )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self._summary(report)
        if not report.ok:
            failed = report.totals["conflict"] + report.totals["error"]
            raise CommandError(
                f"{failed} prompt(s) not imported, {len(report.problems)} problem(s); "
                "the others are imported."
                if not report.dry_run
                else "The dry run found problems."
            )

    def _summary(self, report: ImportReport) -> None:
        rows = []
        for outcome in report.prompts:
            what = []
            if outcome.versions_created:
                what.append("versions " + ", ".join(map(str, outcome.versions_created)))
            if outcome.deployments_created:
                live = ", ".join(f"{e}={n}" for e, n in outcome.deployments_created.items())
                what.append(f"live {live}")
            what += [c["reason"] for c in outcome.conflicts] + outcome.notes
            rows.append([f"{outcome.team}/{outcome.slug}", outcome.status, "; ".join(what)])
        if rows:
            self.stdout.write(table(rows, ["prompt", "result", "details"]))
        for problem in report.problems:
            self.stdout.write(f"! {problem}")
        totals = ", ".join(f"{n} {status}" for status, n in report.totals.items())
        prefix = "Dry run, nothing written: " if report.dry_run else ""
        self.stdout.write(f"{prefix}{totals}.")
