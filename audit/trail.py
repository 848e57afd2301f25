"""The audit trail: who did what, when and why, for one prompt or a whole team.

The trail is merged from the tables that already record every change: the history of
prompts, deployments, reviews, comments, memberships and environments, and the
immutable version rows. A page asks each source for at most ``offset + PAGE_SIZE + 1``
rows, newest first, through ``values()`` with the names it shows joined in, then merges
them in Python. So a page costs one query per source however long the history grows,
and the rows read grow only with how deep one pages (capped at MAX_PAGE; older
entries are reached with the date filters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import Truncator

from accounts.models import Membership, Team
from prompts.models import Prompt, Version
from releases.models import Deployment, Environment
from reviews.models import Comment, Review, ReviewStatus
from reviews.services import EDITED

PAGE_SIZE = 50
MAX_PAGE = 100
KINDS = {
    "prompt": "Prompt",
    "version": "Version",
    "deployment": "Deployment",
    "review": "Review",
    "membership": "Membership",
    "environment": "Environment",
}
PROMPT_KINDS = ("prompt", "version", "deployment", "review")
TEAM_KINDS = tuple(KINDS)
EXCERPT = 160


@dataclass(frozen=True)
class Filters:
    actor: str | None = None
    kind: str | None = None
    since: date | None = None  # from the start of this day
    until: date | None = None  # to the end of this day


@dataclass(frozen=True)
class Entry:
    when: datetime
    kind: str
    actor: str | None  # username; None when nobody signed in did it (a command, a migration)
    action: str
    reason: str
    prompt: str | None  # the slug of the prompt it concerns, if any
    version: int | None  # the number of the version it concerns, if any
    key: tuple  # (when, source, id): a total order, newest last


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    number: int
    has_previous: bool
    has_next: bool


@dataclass(frozen=True)
class Source:
    kind: str
    model: Callable[[], Any]  # the model (or historical model) read
    date: str
    actor: str  # lookup of the acting user
    team: str | None  # lookup of the team id; None: the source only applies to prompts
    prompt: str | None  # lookup of the prompt id; None: the source only applies to teams
    fields: tuple[str, ...]
    describe: Callable[[dict], tuple[str, str]]  # row -> (action, reason)
    prompt_slug: str | None = None
    version_number: str | None = None
    prepare: Callable[[QuerySet], QuerySet] | None = None

    def query(self, team: Team, prompt: Prompt | None, filters: Filters, limit: int) -> list:
        if prompt is not None:
            qs = self.model().objects.filter(**{self.prompt: prompt.pk})
        else:
            qs = self.model().objects.filter(**{self.team: team.pk})
        if filters.actor:
            qs = qs.filter(**{f"{self.actor}__username": filters.actor})
        if filters.since:
            qs = qs.filter(**{f"{self.date}__gte": _start_of(filters.since)})
        if filters.until and filters.until < date.max:
            qs = qs.filter(**{f"{self.date}__lt": _start_of(filters.until + timedelta(days=1))})
        if self.prepare is not None:
            qs = self.prepare(qs)
        pk = qs.model._meta.pk.name
        names = {self.date, pk, f"{self.actor}__username", *self.fields}
        names |= {name for name in (self.prompt_slug, self.version_number) if name}
        return list(qs.order_by(f"-{self.date}", f"-{pk}").values(*sorted(names))[:limit])

    def entry(self, rank: int, row: dict) -> Entry:
        action, reason = self.describe(row)
        pk = row[self.model()._meta.pk.name]
        return Entry(
            when=row[self.date],
            kind=self.kind,
            actor=row[f"{self.actor}__username"],
            action=action,
            reason=reason,
            prompt=row[self.prompt_slug] if self.prompt_slug else None,
            version=row[self.version_number] if self.version_number else None,
            key=(row[self.date], rank, pk),
        )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _history(model: type) -> Callable[[], Any]:
    return lambda: model.history.model


HISTORY_FIELDS = ("history_type", "history_change_reason")


# ---------------------------------------------------------------------- prompts


def _prompt_records(qs: QuerySet) -> QuerySet:
    """Leave out the records of versions being added (the version rows tell those, with
    their number), and bring along the slug and archive time before each change, so a
    rename or an archiving reads as what it was."""
    added_version = Version.objects.filter(
        prompt_id=OuterRef("id"), created_at=OuterRef("updated_at")
    )
    before = qs.model.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
    before = before.order_by("-history_id")
    return qs.annotate(
        adds_version=Exists(added_version),
        slug_before=Subquery(before.values("slug")[:1]),
        archived_before=Subquery(before.values("archived_at")[:1]),
        had_before=Exists(before),
    ).exclude(history_type="~", adds_version=True)


def _describe_prompt(row: dict) -> tuple[str, str]:
    reason = row["history_change_reason"] or ""
    kind = row["history_type"]
    if kind == "+":
        return f"created prompt {row['slug']}", reason
    if kind == "-":
        return f"deleted prompt {row['slug']}", reason
    if row["had_before"] and row["slug_before"] != row["slug"]:
        return f"renamed prompt {row['slug_before']} to {row['slug']}", reason
    if row["archived_at"] and not row["archived_before"]:
        return f"archived prompt {row['slug']}", reason
    if not row["archived_at"] and row["archived_before"]:
        return f"restored prompt {row['slug']}", reason
    return f"changed the details of prompt {row['slug']}", reason


# ---------------------------------------------------------------------- versions


def _describe_version(row: dict) -> tuple[str, str]:
    where = f"version {row['number']} of {row['prompt__slug']}"
    if row["imported_at"] is not None:
        origin = f" by {row['imported_author']}" if row["imported_author"] else ""
        when = row["imported_at"].date().isoformat()
        return f"imported {where} (originally{origin} on {when})", row["change_note"]
    return f"added {where}", row["change_note"]


# ---------------------------------------------------------------------- deployments


def _describe_deployment(row: dict) -> tuple[str, str]:
    number, env = row["version__number"], row["environment__slug"]
    reason = row["history_change_reason"] or row["note"] or ""
    kind = row["history_type"]
    if kind == "-":
        return f"deleted a deployment of version {number} to {env}", reason
    if kind == "~":
        if row["cancelled_at"]:
            return f"cancelled the planned deployment of version {number} to {env}", reason
        if row["scheduled_for"] and row["activated_at"]:
            return f"version {number} went live in {env} as planned", reason
        return f"changed a deployment of version {number} to {env}", reason
    if row["scheduled_for"]:
        when = timezone.localtime(row["scheduled_for"]).strftime("%Y-%m-%d %H:%M %Z")
        return f"planned version {number} for {env} at {when}", reason
    if row["kind"] == Deployment.Kind.ROLLBACK:
        return f"rolled {env} back to version {number}", reason
    return f"deployed version {number} to {env}", reason


# ---------------------------------------------------------------------- reviews


def _describe_review(row: dict) -> tuple[str, str]:
    status = ReviewStatus(row["status"]).label if row["status"] in ReviewStatus.values else ""
    action = f"set the review status of version {row['version__number']} to {status.lower()}"
    return action, row["history_change_reason"] or ""


def _describe_comment(row: dict) -> tuple[str, str]:
    number = row["version__number"]
    where = f" line {row['line']} of" if row["line"] else ""
    body = Truncator(row["body"] or "").chars(EXCERPT)
    if row["history_type"] == "~" and row["history_change_reason"] == EDITED:
        return f"edited a comment on{where} version {number}", body
    if row["history_type"] == "~":
        state = "resolved" if row["resolved_at"] else "reopened"
        return f"{state} a thread on version {number}", row["history_change_reason"] or ""
    if row["history_type"] == "-":
        return f"deleted a comment on version {number}", row["history_change_reason"] or ""
    if row["verdict"] == Comment.Verdict.APPROVE:
        return f"approved{where} version {number}", body
    if row["verdict"] == Comment.Verdict.REQUEST_CHANGES:
        return f"requested changes on{where} version {number}", body
    if row["parent_id"]:
        return f"replied on{where} version {number}", body
    return f"commented on{where} version {number}", body


# ---------------------------------------------------------------------- team


def _describe_membership(row: dict) -> tuple[str, str]:
    member = row["user__username"] or "a former user"
    reason = row["history_change_reason"] or ""
    if row["history_type"] == "+":
        return f"added {member} as {row['role']}", reason
    if row["history_type"] == "-":
        return f"removed {member} from the team", reason
    return f"set the role of {member} to {row['role']}", reason


def _describe_environment(row: dict) -> tuple[str, str]:
    reason = row["history_change_reason"] or ""
    verb = {"+": "created", "-": "deleted"}.get(row["history_type"], "changed")
    rules = "protected" if row["protected"] else "unprotected"
    if row["protected"]:
        rules += f", {row['required_approvals']} approval(s)"
    return f"{verb} environment {row['slug']} ({rules})", reason


SOURCES = [
    Source(
        kind="prompt",
        model=_history(Prompt),
        date="history_date",
        actor="history_user",
        team="team_id",
        prompt="id",
        fields=(
            *HISTORY_FIELDS,
            "slug",
            "archived_at",
            "slug_before",
            "archived_before",
            "had_before",
        ),
        describe=_describe_prompt,
        prompt_slug="slug",
        prepare=_prompt_records,
    ),
    Source(
        kind="version",
        model=lambda: Version,
        date="created_at",
        actor="author",
        team="prompt__team_id",
        prompt="prompt_id",
        fields=("number", "change_note", "imported_author", "imported_at"),
        describe=_describe_version,
        prompt_slug="prompt__slug",
        version_number="number",
    ),
    Source(
        kind="deployment",
        model=_history(Deployment),
        date="history_date",
        actor="history_user",
        team="prompt__team_id",
        prompt="prompt_id",
        fields=(
            *HISTORY_FIELDS,
            "kind",
            "environment__slug",
            "scheduled_for",
            "cancelled_at",
            "activated_at",
            "note",
        ),
        describe=_describe_deployment,
        prompt_slug="prompt__slug",
        version_number="version__number",
    ),
    Source(
        kind="review",
        model=_history(Review),
        date="history_date",
        actor="history_user",
        team="version__prompt__team_id",
        prompt="version__prompt_id",
        fields=(*HISTORY_FIELDS, "status"),
        describe=_describe_review,
        prompt_slug="version__prompt__slug",
        version_number="version__number",
    ),
    Source(
        kind="review",
        model=_history(Comment),
        date="history_date",
        actor="history_user",
        team="version__prompt__team_id",
        prompt="version__prompt_id",
        fields=(*HISTORY_FIELDS, "verdict", "line", "body", "parent_id", "resolved_at"),
        describe=_describe_comment,
        prompt_slug="version__prompt__slug",
        version_number="version__number",
    ),
    Source(
        kind="membership",
        model=_history(Membership),
        date="history_date",
        actor="history_user",
        team="team_id",
        prompt=None,
        fields=(*HISTORY_FIELDS, "user__username", "role"),
        describe=_describe_membership,
    ),
    Source(
        kind="environment",
        model=_history(Environment),
        date="history_date",
        actor="history_user",
        team="team_id",
        prompt=None,
        fields=(*HISTORY_FIELDS, "slug", "protected", "required_approvals"),
        describe=_describe_environment,
    ),
]


# ---------------------------------------------------------------------- reads


def prompt_trail(prompt: Prompt, filters: Filters | None = None, page: int = 1) -> Page:
    """What happened to one prompt: itself, its versions, deployments and reviews."""
    return _trail(prompt.team, prompt, filters or Filters(), page)


def team_trail(team: Team, filters: Filters | None = None, page: int = 1) -> Page:
    """What happened in a team: all its prompts, plus members and environments."""
    return _trail(team, None, filters or Filters(), page)


def _trail(team: Team, prompt: Prompt | None, filters: Filters, page: int) -> Page:
    page = min(max(page, 1), MAX_PAGE)
    offset = (page - 1) * PAGE_SIZE
    limit = offset + PAGE_SIZE + 1
    entries: list[Entry] = []
    for rank, source in enumerate(SOURCES):
        if (source.prompt if prompt is not None else source.team) is None:
            continue
        if filters.kind and filters.kind != source.kind:
            continue
        entries += [source.entry(rank, row) for row in source.query(team, prompt, filters, limit)]
    entries.sort(key=lambda entry: entry.key, reverse=True)
    return Page(
        entries=entries[offset : offset + PAGE_SIZE],
        number=page,
        has_previous=page > 1,
        has_next=len(entries) > offset + PAGE_SIZE and page < MAX_PAGE,
    )
