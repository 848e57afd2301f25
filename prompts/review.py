"""Reviewing versions: review requests, comment threads, verdicts and the status they give.

A version never changes, so its review state lives in its Review row (no row: a draft).
A verdict is a comment that approves or requests changes; the status follows from each
reviewer's latest verdict, so a reviewer changes their mind by giving a new one. Writes
that change a Review take the prompt's row lock (as versions and deployments do), so
racing verdicts cannot both compute the status from a state without the other.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from accounts.permissions import can
from accounts.services import require
from prompts.diffing import lines_of, text_of
from prompts.models import Comment, Review, ReviewStatus, Version
from prompts.services import _check_text, _lock, _with_retry
from registry_site.errors import Conflict, Forbidden, Invalid
from registry_site.history import attribute
from webhooks import events

BODY_LIMIT = 10_000
NOTE_LIMIT = 2_000
VERDICTS = ("", Comment.Verdict.APPROVE, Comment.Verdict.REQUEST_CHANGES)


# ---------------------------------------------------------------------- reads


def threads(version: Version) -> list[Comment]:
    """Top-level comments, oldest first, each with ``replies_list`` (oldest first): two
    queries whatever the number of threads."""
    replies = Prefetch(
        "replies",
        queryset=Comment.objects.select_related("author").order_by("created_at", "id"),
        to_attr="replies_list",
    )
    return list(
        Comment.objects.filter(version=version, parent__isnull=True)
        .select_related("author")
        .prefetch_related(replies)
        .order_by("created_at", "id")
    )


def status_after_verdicts(version: Version) -> str:
    """The status the version's verdicts give it: changes_requested if any reviewer's latest
    verdict asks for changes, else approved if at least one approves. The author's own
    verdicts never count. Without verdicts, and once deprecated, the status stays."""
    current = (
        Review.objects.filter(version=version).values_list("status", flat=True).first()
        or ReviewStatus.DRAFT
    )
    return _status(version, current)


def _status(version: Version, current: str) -> str:
    if current == ReviewStatus.DEPRECATED:
        return current
    latest = set(latest_verdicts(version).values())
    if Comment.Verdict.REQUEST_CHANGES in latest:
        return ReviewStatus.CHANGES_REQUESTED
    if Comment.Verdict.APPROVE in latest:
        return ReviewStatus.APPROVED
    return current


def latest_verdicts(version: Version) -> dict[int, str]:
    """{reviewer id: their latest verdict}, the author's own left out."""
    latest: dict[int, str] = {}
    verdicts = (
        Comment.objects.filter(version=version)
        .exclude(verdict="")
        .exclude(author_id=version.author_id)
        .order_by("created_at", "id")
        .values_list("author_id", "verdict")
    )
    for author_id, verdict in verdicts:
        latest[author_id] = verdict
    return latest


# ---------------------------------------------------------------------- input checks


def _check_body(body: Any) -> str:
    if not isinstance(body, str):
        raise Invalid("A comment must be text.", {"field": "body"})
    body = body.strip()
    if not body:
        raise Invalid("A comment cannot be empty.", {"field": "body"})
    if "\x00" in body:
        raise Invalid("A comment must not contain NUL characters.", {"field": "body"})
    if len(body) > BODY_LIMIT:
        raise Invalid(f"A comment is at most {BODY_LIMIT} characters.", {"field": "body"})
    return body


def _thread_of(version: Version, parent: Any) -> int | None:
    """The id of the top-level comment a reply belongs to (a reply to a reply joins the
    thread of its parent: threads are one level deep)."""
    if parent is None:
        return None
    if isinstance(parent, Comment):
        parent = parent.pk
    found = None
    if isinstance(parent, int) and not isinstance(parent, bool):
        found = (
            Comment.objects.filter(pk=parent, version=version)
            .values_list("id", "parent_id")
            .first()
        )
    if found is None:
        raise Invalid("The parent must be a comment on the same version.", {"field": "parent"})
    comment_id, thread_id = found
    return thread_id or comment_id


def _check_verdict(actor: Any, version: Version, verdict: Any) -> str:
    verdict = "" if verdict is None else verdict
    if not isinstance(verdict, str) or verdict not in VERDICTS:
        raise Invalid(
            "A verdict is approve or request_changes.",
            {"field": "verdict", "allowed": list(VERDICTS[1:])},
        )
    if not verdict:
        return verdict
    if not can(actor, "review", version.prompt):
        raise Forbidden("Only reviewers approve or request changes.", reason="role")
    if actor.pk == version.author_id:
        raise Forbidden("Nobody reviews their own version.", reason="self_review")
    return verdict


def _check_line(version: Version, line: Any) -> int | None:
    if line is None:
        return None
    count = len(lines_of(text_of(version)))
    if isinstance(line, bool) or not isinstance(line, int) or not 1 <= line <= count:
        raise Invalid(f"A line is a number from 1 to {count}.", {"field": "line", "max": count})
    return line


# ---------------------------------------------------------------------- writes


def _emit(kind: str, actor: Any, version: Version, data: dict) -> None:
    prompt = version.prompt
    events.emit(kind, team=prompt.team, actor=actor, prompt=prompt, version=version, data=data)


def _review_of(version: Version) -> Review:
    """The version's Review row, or a new unsaved one for a draft. Callers hold the prompt
    lock, so two writers never both create it."""
    review = Review.objects.filter(version=version).first()
    if review is None:
        review = Review(version=version, status=ReviewStatus.DRAFT)
    review.version = version  # also caches it on version, so version.status follows
    return review


def _save_review(review: Review, actor: Any, status: str, reason: str) -> Review:
    review.status = status
    review.updated_at = timezone.now()
    attribute(review, actor, reason).save()
    return review


def request_review(actor: Any, version: Version, note: str = "") -> Review:
    """Ask for a review: the version goes to in_review."""
    require(actor, "edit", version.prompt, "Only editors ask for reviews.")
    note = _check_text(note, "note", NOTE_LIMIT).strip()

    def write() -> Review:
        _lock(version.prompt)
        review = _review_of(version)
        if review.status == ReviewStatus.DEPRECATED:
            raise Conflict(f"Version {version.number} is deprecated.", {"reason": "deprecated"})
        review.requested_by = actor
        reason = f"review requested: {note}" if note else "review requested"
        saved = _save_review(review, actor, ReviewStatus.IN_REVIEW, reason)
        _emit(events.REVIEW_REQUESTED, actor, version, {"note": note})
        return saved

    return _with_retry(write)


def deprecate(actor: Any, version: Version) -> Review:
    """Mark a version deprecated; verdicts no longer change its status. Deprecating a
    deprecated version writes nothing."""
    require(actor, "edit", version.prompt, "Only editors deprecate versions.")

    def write() -> Review:
        _lock(version.prompt)
        review = _review_of(version)
        if review.status == ReviewStatus.DEPRECATED:
            return review
        reason = f"deprecated version {version.number}"
        return _save_review(review, actor, ReviewStatus.DEPRECATED, reason)

    return _with_retry(write)


def add_comment(
    actor: Any,
    version: Version,
    *,
    body: Any,
    parent: Any = None,
    verdict: Any = "",
    line: Any = None,
) -> Comment:
    """Comment on a version, start a thread or reply to one; with a verdict, also update
    the version's review status."""
    require(actor, "edit", version.prompt, "Only editors comment on versions.")
    fields = {
        "body": _check_body(body),
        "parent_id": _thread_of(version, parent),
        "verdict": _check_verdict(actor, version, verdict),
        "line": _check_line(version, line),
    }
    if not fields["verdict"]:
        with transaction.atomic():
            comment = Comment(version=version, author=actor, **fields)
            attribute(comment, actor, "replied" if comment.parent_id else "commented").save()
        return comment

    if fields["verdict"] == Comment.Verdict.APPROVE:
        reason = f"approved version {version.number}"
    else:
        reason = f"changes requested on version {version.number}"

    def write() -> Comment:
        # Built here: a retried attempt must not reuse an object its rolled-back
        # predecessor saved.
        _lock(version.prompt)
        comment = Comment(version=version, author=actor, **fields)
        attribute(comment, actor, reason).save()
        review = _review_of(version)
        _save_review(review, actor, _status(version, review.status), reason)
        data = {"verdict": comment.verdict, "status": review.status, "comment": comment.pk}
        _emit(events.REVIEW_VERDICT, actor, version, data)
        return comment

    return _with_retry(write)


def set_thread_resolved(actor: Any, comment: Comment, resolved: bool) -> Comment:
    """Resolve or reopen a thread (its top-level comment). Setting the state it already
    has writes nothing."""
    require(actor, "edit", comment.version.prompt, "Only editors resolve threads.")
    if comment.parent_id is not None:
        raise Invalid(
            "Only a thread's first comment is resolved or reopened.", {"field": "comment"}
        )
    if not isinstance(resolved, bool):
        raise Invalid("resolved is true or false.", {"field": "resolved"})
    with transaction.atomic():
        current = Comment.objects.select_for_update().values_list("resolved_at", flat=True)
        resolved_at = current.get(pk=comment.pk)
        if (resolved_at is not None) == resolved:
            comment.resolved_at = resolved_at
            return comment
        comment.resolved_at = timezone.now() if resolved else None
        attribute(comment, actor, "thread resolved" if resolved else "thread reopened")
        comment.save(update_fields=["resolved_at"])
    return comment
