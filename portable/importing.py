"""Bringing a tree of files (see ``fileformat``) into the registry.

Rules, so that importing is safe to repeat and never loses anything:

* What is missing is created; nothing that exists is rewritten. A version that exists
  with the same content is left alone; one whose content differs is a conflict (or,
  with ``append_conflicts``, added as a new version after the stored ones).
* Each prompt is imported in its own transaction: all of it or none of it.
* Versions keep the numbers and notes of the files. Their authors and times are kept
  as provenance (``imported_author``, ``imported_at``: shown, and written back by
  export), never trusted: the importing user is the author of every version for every
  rule (approvals, the four-eyes rule), and ``created_at`` is when it was imported.
  Files could name anyone, a reviewer of the team included.
* What the files may cost is bounded before anything is written (see ``fileformat``
  and ``archive``): a file past a limit refuses the whole import.
* A prompt the import creates gets the deployments of its ``environments``: import
  restores what was live, it does not release (no approval gate is asked, which is why
  only team admins import). For a prompt that exists, a different live version is
  reported and left alone: releasing goes through the registry's own gates.
* A team that does not exist is created when the actor may create teams, with the
  environments of its ``team.yaml``; an existing team only gains missing environments.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import SLUG_PATTERN, Team
from portable import fileformat as ff
from portable.ordering import import_order
from portable.teams import target_team
from portable.wording import REASON, origin_of, span_of
from prompts import cache, writing
from prompts.models import Prompt, PromptAddress, Version
from registry_site.errors import Conflict, DomainError, Invalid
from registry_site.history import attribute
from releases.environments import environments_of
from releases.live import live_versions
from releases.services import record_deployment

# YAML values of a whole import: an export of 10,000 files holds far fewer (a version
# file has about fifteen), and reading them costs seconds at most.
MAX_YAML_NODES = 200_000


@dataclass
class PromptOutcome:
    team: str
    slug: str
    status: str = "unchanged"  # created, updated, unchanged, conflict or error
    versions_created: list[int] = field(default_factory=list)
    deployments_created: dict[str, int] = field(default_factory=dict)
    conflicts: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "team": self.team,
            "slug": self.slug,
            "status": self.status,
            "versions_created": self.versions_created,
            "deployments_created": self.deployments_created,
            "conflicts": self.conflicts,
            "notes": self.notes,
        }


@dataclass
class ImportReport:
    dry_run: bool
    prompts: list[PromptOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        totals = dict.fromkeys(("created", "updated", "unchanged", "conflict", "error"), 0)
        for outcome in self.prompts:
            totals[outcome.status] += 1
        return totals

    @property
    def ok(self) -> bool:
        totals = self.totals
        return not self.problems and not totals["conflict"] and not totals["error"]

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "totals": self.totals,
            "problems": self.problems,
            "prompts": [p.as_dict() for p in self.prompts],
        }


@dataclass
class _TeamFiles:
    team_file: bytes | None = None
    prompts: dict[str, dict[str, bytes]] = field(default_factory=dict)


class _Rollback(Exception):
    """Leave a prompt's transaction without writing anything."""


@dataclass
class _Options:
    actor: Any
    append_conflicts: bool
    # One time for everything an import writes: when it was imported.
    now: datetime = field(default_factory=timezone.now)
    # Prompts the files' prompts include; an archived one is archived last, since a
    # version may include only a prompt that is not archived when it is written.
    snippets: set[tuple[str, str]] = field(default_factory=set)
    archive_last: list[Prompt] = field(default_factory=list)


# ---------------------------------------------------------------- the tree


def read_layout(files: Mapping[str, bytes]) -> tuple[dict[str, _TeamFiles], list[str]]:
    """Group a tree's files by team and prompt; anything else is reported, not read.
    Hidden files and folders (``.git``, ``.DS_Store``) are skipped silently."""
    teams: dict[str, _TeamFiles] = {}
    problems: list[str] = []
    for path in sorted(files):
        parts = path.split("/")
        if any(part.startswith(".") for part in parts):
            continue
        if len(parts) == 2 and parts[1] == ff.TEAM_FILE and _is_slug(parts[0]):
            teams.setdefault(parts[0], _TeamFiles()).team_file = files[path]
        elif len(parts) == 3 and _is_slug(parts[0]) and _is_slug(parts[1]):
            if parts[2] == ff.PROMPT_FILE or ff.VERSION_FILE.match(parts[2]):
                team = teams.setdefault(parts[0], _TeamFiles())
                team.prompts.setdefault(parts[1], {})[parts[2]] = files[path]
            else:
                problems.append(f"{path}: not a file of the export format; ignored.")
        else:
            problems.append(f"{path}: not a file of the export format; ignored.")
    return teams, problems


def _is_slug(text: str) -> bool:
    return re.match(SLUG_PATTERN, text) is not None


# ---------------------------------------------------------------- the import


def import_tree(
    actor: Any,
    files: Mapping[str, bytes],
    *,
    team: str | None = None,
    into: str | None = None,
    dry_run: bool = False,
    append_conflicts: bool = False,
    tick: Callable[[], None] | None = None,
) -> ImportReport:
    """Import every team of the tree (or only ``team``, optionally into the team
    ``into``). A dry run does all the work and rolls it back: its report is exactly
    what a real run would do now."""
    layout, problems = read_layout(files)
    if team is not None:
        if team not in layout:
            raise Invalid(f"The files hold no team {team}.", {"field": "team"})
        layout = {team: layout[team]}
    _check_cost(layout)
    if into is not None:
        if len(layout) != 1:
            raise Invalid(
                "Importing into another team needs the files of exactly one team.",
                {"teams": sorted(layout)},
            )
        writing.check_slug(into)
        layout = {into: next(iter(layout.values()))}
    report = ImportReport(dry_run=dry_run, problems=problems)
    options = _Options(actor=actor, append_conflicts=append_conflicts)
    # Snippets before the prompts that include them, across teams: refused here, before
    # anything is written, when a reference names a prompt neither given nor here.
    order, options.snippets = import_order(
        actor, {(t, p): files for t, tf in layout.items() for p, files in tf.prompts.items()}
    )
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        teams = {
            slug: _import_team(options, slug, team_files, report, tick)
            for slug, team_files in layout.items()
        }
        for team_slug, prompt_slug in order:
            if teams[team_slug] is not None:
                team, envs = teams[team_slug]
                files = layout[team_slug].prompts[prompt_slug]
                report.prompts.append(_import_prompt(options, team, envs, prompt_slug, files))
                if tick:
                    tick()
        written = Prompt.objects.filter(pk__in=[p.pk for p in options.archive_last])
        for prompt in written:  # archived snippets: once all that include them are written
            prompt.archived_at = options.now
            attribute(prompt, actor, REASON).save(update_fields=["archived_at"])
        report.prompts.sort(key=lambda outcome: (outcome.team, outcome.slug))
        if dry_run:
            transaction.set_rollback(True)
    return report


def _check_cost(layout: dict[str, _TeamFiles]) -> None:
    """Scan the YAML of every file before anything is read or written: a file past a
    limit of ``fileformat``, or more YAML than MAX_YAML_NODES in all, refuses the whole
    import. A file that is merely broken is left for its prompt to report."""
    total = 0
    for team_slug, team_files in sorted(layout.items()):
        named = [(ff.TEAM_FILE, team_files.team_file)] if team_files.team_file else []
        for prompt_slug, files in sorted(team_files.prompts.items()):
            named += [(f"{prompt_slug}/{name}", raw) for name, raw in sorted(files.items())]
        for name, raw in named:
            path = f"{team_slug}/{name}"
            try:
                total += ff.yaml_nodes(ff.yaml_of(name.rsplit("/", 1)[-1], raw.decode()), path)
            except (UnicodeDecodeError, yaml.YAMLError):
                continue
            if total > MAX_YAML_NODES:
                raise ff.TooCostly(
                    f"The files hold more than {MAX_YAML_NODES} YAML values in all.",
                    {"path": path, "limit": "yaml_values_in_all", "max": MAX_YAML_NODES},
                )


def count_prompts(files: Mapping[str, bytes]) -> int:
    return sum(len(t.prompts) for t in read_layout(files)[0].values())


def _import_team(
    options: _Options,
    slug: str,
    team_files: _TeamFiles,
    report: ImportReport,
    tick: Callable[[], None] | None,
) -> tuple[Team, dict] | None:
    """The team to import into and its environments; None, with its prompts reported
    as errors, when it cannot be had."""
    try:
        team_data = _team_data(slug, team_files)
        team = target_team(options.actor, slug, team_data)
    except DomainError as exc:
        report.problems.append(f"{slug}: {exc.message}")
        for prompt_slug in sorted(team_files.prompts):
            report.prompts.append(
                PromptOutcome(slug, prompt_slug, status="error", notes=[exc.message])
            )
            if tick:
                tick()
        return None
    return team, {e.slug: e for e in environments_of(team)}


def _team_data(slug: str, team_files: _TeamFiles) -> dict | None:
    if team_files.team_file is None:
        return None
    path = f"{slug}/{ff.TEAM_FILE}"
    return ff.read_team(_decode(team_files.team_file, path), path)


def _decode(raw: bytes, path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ff.FileProblem(f"{path}: not UTF-8 text.", {"path": path}) from None


# ---------------------------------------------------------------- prompts


@dataclass
class _FileVersion:
    number: int
    content: dict  # the fields of the version row, as writing.version_content gives
    note: str
    author: str | None
    created_at: datetime | None


def _read_prompt_files(team: Team, slug: str, files: dict[str, bytes]) -> tuple[dict, list]:
    """The prompt's fields and its versions, checked like any other input."""
    base = f"{team.slug}/{slug}"
    if ff.PROMPT_FILE not in files:
        raise ff.FileProblem(f"{base}: {ff.PROMPT_FILE} is missing.", {"path": base})
    path = f"{base}/{ff.PROMPT_FILE}"
    meta = ff.read_prompt(_decode(files[ff.PROMPT_FILE], path), path)
    meta["name"] = writing.check_text(meta["name"] or slug, "name", 200, required=True)
    meta["description"] = writing.check_text(meta["description"], "description", 10_000)
    meta["tags"] = writing.check_tags(meta["tags"])
    meta["former_slugs"] = [writing.check_slug(s) for s in meta["former_slugs"]]
    versions = []
    for name in sorted(n for n in files if n != ff.PROMPT_FILE):
        path = f"{base}/{name}"
        data = ff.read_version(name, _decode(files[name], path), path)
        try:
            content = writing.version_content(
                data["template"] if data["kind"] == "text" else None,
                data["messages"],
                data["variables"],
                data["config"],
            )
        except DomainError as exc:
            raise Invalid(f"{path}: {exc.message}", {"path": path, **exc.details}) from None
        note = writing.check_text(data["note"], "change_note", 2_000)
        versions.append(
            _FileVersion(data["number"], content, note, data["author"], data["created_at"])
        )
    versions.sort(key=lambda v: v.number)
    if [v.number for v in versions] != list(range(1, len(versions) + 1)):
        raise Invalid(f"{base}: versions must be numbered 1, 2, 3 … without gaps.")
    if not versions:
        raise Invalid(f"{base}: a prompt needs at least one version file.")
    return meta, versions


def _import_prompt(
    options: _Options, team: Team, envs: dict, slug: str, files: dict[str, bytes]
) -> PromptOutcome:
    outcome = PromptOutcome(team.slug, slug)
    try:
        meta, versions = _read_prompt_files(team, slug, files)
        with transaction.atomic():
            _apply(options, team, envs, slug, meta, versions, outcome)
            if outcome.conflicts:
                raise _Rollback
    except _Rollback:
        _nothing_written(outcome, "conflict")
    except DomainError as exc:
        _nothing_written(outcome, "conflict" if isinstance(exc, Conflict) else "error")
        outcome.notes.append(exc.message)
    except IntegrityError:
        _nothing_written(outcome, "conflict")
        outcome.notes.append("The prompt changed at the same time; import it again.")
    return outcome


def _nothing_written(outcome: PromptOutcome, status: str) -> None:
    outcome.status = status
    outcome.versions_created = []
    outcome.deployments_created = {}


def _apply(
    options: _Options,
    team: Team,
    envs: dict,
    slug: str,
    meta: dict,
    versions: list[_FileVersion],
    outcome: PromptOutcome,
) -> None:
    address = PromptAddress.objects.filter(team=team, slug=slug).select_related("prompt").first()
    if address is None:
        _create(options, team, envs, slug, meta, versions, outcome)
        return
    prompt = writing.lock(address.prompt)
    if prompt.slug != slug:
        raise Conflict(f"{team.slug}/{slug} was renamed to {prompt.slug} here.")
    _add_versions(options, prompt, versions, outcome)
    _compare_meta(prompt, meta, outcome)


def _create(
    options: _Options,
    team: Team,
    envs: dict,
    slug: str,
    meta: dict,
    versions: list[_FileVersion],
    outcome: PromptOutcome,
) -> None:
    taken = PromptAddress.objects.filter(team=team, slug__in=meta["former_slugs"])
    for address in taken.select_related("prompt"):
        outcome.conflicts.append(
            {"version": None, "reason": f"the former slug {address.slug} is taken here"}
        )
    if outcome.conflicts:
        return
    prompt = writing.new_prompt(
        options.actor,
        team,
        slug=slug,
        name=meta["name"],
        description=meta["description"],
        tags=meta["tags"],
        reason=REASON + origin_of([v.author for v in versions]),
        now=options.now,
        former_slugs=meta["former_slugs"],
        archived=meta["archived"] and (team.slug, slug) not in options.snippets,
    )
    if meta["archived"] and (team.slug, slug) in options.snippets:
        options.archive_last.append(prompt)
    created = {v.number: _write_version(options, prompt, v, v.number, outcome) for v in versions}
    writing.set_latest(prompt, created[versions[-1].number])
    for env_slug, number in sorted(meta["environments"].items()):
        env = envs.get(env_slug)
        if env is None:
            raise Invalid(f"{team.slug} has no environment {env_slug}.")
        if number not in created:
            raise Invalid(f"{env_slug} names version {number}, which the files do not have.")
        record_deployment(options.actor, prompt, env, created[number], note=REASON)
        outcome.deployments_created[env_slug] = number
    outcome.status = "created"


def _add_versions(
    options: _Options, prompt: Prompt, versions: list[_FileVersion], outcome: PromptOutcome
) -> None:
    """Versions of the files that the stored prompt lacks, after the stored ones."""
    stored = {
        number: digest
        for number, digest in Version.objects.filter(prompt=prompt).values_list(
            "number", "content_hash"
        )
    }
    numbers_of = {digest: number for number, digest in sorted(stored.items(), reverse=True)}
    following = max(stored, default=0) + 1
    added: list[Version] = []
    for version in versions:
        digest = version.content["content_hash"]
        here = stored.get(version.number)
        if here == digest:
            continue
        if here is not None and not options.append_conflicts:
            outcome.conflicts.append(
                {
                    "version": version.number,
                    "reason": f"version {version.number} here has other content",
                }
            )
            continue
        if options.append_conflicts and digest in numbers_of:
            continue  # appended by an earlier import
        if here is not None:
            outcome.notes.append(
                f"version {version.number} of the files differs; added as version {following}"
            )
        added.append(_write_version(options, prompt, version, following, outcome))
        numbers_of[digest] = following
        following += 1
    if outcome.conflicts or not added:
        return
    origin = origin_of([v.imported_author for v in added])
    reason = f"{REASON}: versions {span_of(added)}{origin}"
    writing.set_latest(prompt, added[-1], actor=options.actor, reason=reason)
    cache.forget_prompt_on_commit(prompt)
    outcome.status = "updated"


def _write_version(
    options: _Options, prompt: Prompt, version: _FileVersion, number: int, outcome: PromptOutcome
) -> Version:
    row = writing.new_version(
        options.actor,
        prompt,
        number=number,
        content=version.content,
        change_note=version.note,
        created_at=options.now,
        imported_author=version.author or "",
        imported_at=version.created_at or options.now,
    )
    outcome.versions_created.append(number)
    return row


def _compare_meta(prompt: Prompt, meta: dict, outcome: PromptOutcome) -> None:
    """What differs between the files and the stored prompt, reported and kept."""
    for name in ("name", "description", "tags"):
        if getattr(prompt, name) != meta[name]:
            outcome.notes.append(f"{name} differs here; kept")
    if prompt.is_archived != meta["archived"]:
        outcome.notes.append("archived here" if prompt.is_archived else "not archived here")
    live = live_versions([prompt])[prompt.pk]
    for env_slug, number in sorted(meta["environments"].items()):
        if live.get(env_slug) != number:
            here = f"version {live[env_slug]}" if env_slug in live else "nothing"
            outcome.notes.append(
                f"{env_slug}: {here} is live here, the files say version {number}; "
                "deploy it in the registry"
            )
