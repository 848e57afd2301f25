"""Reviewing versions: review requests, comment threads, verdicts and the status they give.

A version never changes, so its review state lives in its Review row (no row: a draft).
A verdict is a comment that approves or requests changes; the status follows from each
reviewer's latest verdict, so a reviewer changes their mind by giving a new one. Writes
that change a Review take the prompt's row lock (as versions and deployments do), so
racing verdicts cannot both compute the status from a state without the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from accounts.permissions import can, people_who_may
from accounts.services import require
from prompts import writing
from prompts.diffing import lines_of, text_of
from prompts.models import Version
from registry_site.errors import Conflict, Forbidden, Invalid, NotFound
from registry_site.history import attribute
from reviews.models import Comment, Review, ReviewRequest, ReviewStatus
from webhooks import events

BODY_LIMIT = 10_000
NOTE_LIMIT = 2_000
MAX_REVIEWERS = 20
MAX_ID = 2**63 - 1  # ids are bigints: a larger one exists nowhere
EDITED = "edited"  # the history reason of an edit (the audit trail tells edits by it)
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


def _status(version: Version, current: str) -> str:
    """The status the version's verdicts give it: changes_requested if any reviewer's latest
    verdict asks for changes, else approved if at least one approves. The author's own
    verdicts never count. Without verdicts, and once deprecated, the status stays."""
    if current == ReviewStatus.DEPRECATED:
        return current
    latest = set(latest_verdicts(version).values())
    if Comment.Verdict.REQUEST_CHANGES in latest:
        return ReviewStatus.CHANGES_REQUESTED
    if Comment.Verdict.APPROVE in latest:
        return ReviewStatus.APPROVED
    return current


def _latest_verdicts(versions: Iterable[Version]) -> dict[tuple[int, int], tuple[str, datetime]]:
    """{(version id, reviewer id): (their latest verdict, when)}, the author's own left
    out: the one place that decides which verdict counts, in one query."""
    authors = {version.pk: version.author_id for version in versions}
    if not authors:
        return {}
    latest: dict[tuple[int, int], tuple[str, datetime]] = {}
    verdicts = (
        Comment.objects.filter(version_id__in=authors)
        .exclude(verdict="")
        .order_by("created_at", "id")
        .values_list("version_id", "author_id", "verdict", "created_at")
    )
    for version_id, author_id, verdict, at in verdicts:
        if author_id != authors[version_id]:
            latest[(version_id, author_id)] = (verdict, at)
    return latest


def latest_verdicts(version: Version) -> dict[int, str]:
    """{reviewer id: their latest verdict}, the author's own left out."""
    return {
        reviewer: verdict for (_, reviewer), (verdict, _) in _latest_verdicts([version]).items()
    }


def find_comment(version: Version, comment_id: Any) -> Comment:
    """A comment on ``version`` by id; NotFound for any other."""
    ok = isinstance(comment_id, int) and not isinstance(comment_id, bool)
    comment = None
    if ok and 1 <= comment_id <= MAX_ID:
        comment = Comment.objects.filter(pk=comment_id, version=version).first()
    if comment is None:
        raise NotFound(f"Version {version.number} has no comment {comment_id}.")
    comment.version = version
    return comment


def with_replies(comment: Comment) -> Comment:
    """The comment with its author and, for a thread, ``replies_list`` as threads() gives."""
    found = Comment.objects.filter(pk=comment.pk).select_related("author")
    if comment.parent_id is None:
        found = found.prefetch_related(
            Prefetch(
                "replies",
                queryset=Comment.objects.select_related("author").order_by("created_at", "id"),
                to_attr="replies_list",
            )
        )
    fresh = found.get()
    fresh.version = comment.version
    return fresh


@dataclass(frozen=True)
class ReviewerState:
    user: Any
    verdict: str | None  # their latest verdict, whenever it was given
    pending: bool  # asked, and no verdict since


@dataclass(frozen=True)
class ReviewState:
    status: str
    requested_by: Any
    reviewers: list[ReviewerState]
    approvals: int


def review_state(version: Version) -> ReviewState:
    """Status, who asked, the named reviewers with their latest verdicts, and approvals:
    three queries."""
    review = Review.objects.filter(version=version).select_related("requested_by").first()
    requests = ReviewRequest.objects.filter(version=version).select_related("reviewer")
    latest = {reviewer: state for (_, reviewer), state in _latest_verdicts([version]).items()}
    reviewers = []
    for request in requests.order_by("reviewer__username"):
        verdict, at = latest.get(request.reviewer_id, (None, None))
        pending = at is None or at < request.requested_at
        reviewers.append(ReviewerState(request.reviewer, verdict, pending))
    return ReviewState(
        status=review.status if review else ReviewStatus.DRAFT,
        requested_by=review.requested_by if review else None,
        reviewers=reviewers,
        approvals=sum(1 for verdict, _ in latest.values() if verdict == Comment.Verdict.APPROVE),
    )


def approvals_of(versions: Iterable[Version]) -> dict[int, int]:
    """{version id: approvals} for many versions in one query (as releases.policy.approvals
    counts them: reviewers whose latest verdict approves, the author left out)."""
    versions = list(versions)
    counts = dict.fromkeys((version.pk for version in versions), 0)
    for (version_id, _), (verdict, _) in _latest_verdicts(versions).items():
        counts[version_id] += verdict == Comment.Verdict.APPROVE
    return counts


@dataclass(frozen=True)
class EarlierText:
    body: str
    written_at: datetime


def earlier_texts(comments: Iterable[Comment]) -> dict[int, list[EarlierText]]:
    """{comment id: its earlier texts, newest first} for the edited ones among
    ``comments``, from their history: one query, none when nothing was edited."""
    current = {comment.pk: comment.body for comment in comments if comment.edited_at}
    if not current:
        return {}
    texts: dict[int, list[EarlierText]] = {}
    records = (
        Comment.history.filter(id__in=current)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "body", "history_date")
    )
    for comment_id, body, at in records:
        seen = texts.setdefault(comment_id, [])
        if not seen or seen[-1].body != body:
            seen.append(EarlierText(body, at))
    for comment_id, seen in texts.items():
        if seen and seen[-1].body == current[comment_id]:
            seen.pop()
        seen.reverse()
    return {comment_id: seen for comment_id, seen in texts.items() if seen}


def reviewer_candidates(version: Version) -> list[Any]:
    """Who may be asked to review ``version``: the people who may review its prompt,
    its author left out."""
    people = people_who_may("review", version.prompt).exclude(pk=version.author_id)
    return list(people.order_by(get_user_model().USERNAME_FIELD))


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


def _check_reviewers(version: Version, reviewers: Any) -> list[Any] | None:
    """The users named to review ``version`` (None: keep those named before). Each must
    be allowed to review its prompt and must not be its author."""
    if reviewers is None:
        return None
    if isinstance(reviewers, str) or not isinstance(reviewers, list | tuple | set | frozenset):
        raise Invalid("reviewers is a list of usernames.", {"field": "reviewers"})
    names = []
    for reviewer in reviewers:
        name = reviewer.get_username() if hasattr(reviewer, "get_username") else reviewer
        if not isinstance(name, str):
            raise Invalid("reviewers is a list of usernames.", {"field": "reviewers"})
        names.append(name)
    names = list(dict.fromkeys(names))
    if len(names) > MAX_REVIEWERS:
        raise Invalid(f"Name at most {MAX_REVIEWERS} reviewers.", {"field": "reviewers"})
    users = get_user_model().objects.filter(is_active=True)
    field = get_user_model().USERNAME_FIELD
    # A name no database could hold is nobody's; it must not reach the query.
    storable = [n for n in names if len(n) <= 150 and "\x00" not in n and n.isprintable()]
    found = {u.get_username(): u for u in users.filter(**{f"{field}__in": storable})}
    if version.author_id is not None and any(u.pk == version.author_id for u in found.values()):
        author = next(n for n, u in found.items() if u.pk == version.author_id)
        raise Invalid(
            f"{author} wrote version {version.number}; nobody reviews their own version.",
            {"field": "reviewers", "invalid": [author], "reason": "self_review"},
        )
    refused = [n for n in names if n not in found or not can(found[n], "review", version.prompt)]
    if refused:
        raise Invalid(
            f"Not a reviewer of this prompt: {', '.join(refused)}.",
            {"field": "reviewers", "invalid": refused},
        )
    return [found[n] for n in names]


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


def request_review(actor: Any, version: Version, note: str = "", reviewers: Any = None) -> Review:
    """Ask for a review: the version goes to in_review (also from changes_requested or
    approved: the verdicts given stay, and count again as reviewers answer anew).

    ``reviewers`` (usernames or users) become the named set, replacing the one before;
    None keeps it. Everyone named is asked again, so a verdict given before this request
    no longer answers it.
    """
    require(actor, "edit", version.prompt, "Only editors ask for reviews.")
    note = writing.check_text(note, "note", NOTE_LIMIT).strip()
    named = _check_reviewers(version, reviewers)

    def write() -> Review:
        writing.lock(version.prompt)
        review = _review_of(version)
        if review.status == ReviewStatus.DEPRECATED:
            raise Conflict(f"Version {version.number} is deprecated.", {"reason": "deprecated"})
        review.requested_by = actor
        asked = _ask(version, actor, named)
        reason = "review requested"
        if named:
            reason += f" from {', '.join(u.get_username() for u in named)}"
        if note:
            reason += f": {note}"
        saved = _save_review(review, actor, ReviewStatus.IN_REVIEW, reason)
        _emit(events.REVIEW_REQUESTED, actor, version, {"note": note, "reviewers": asked})
        return saved

    return writing.with_retry(write)


def _ask(version: Version, actor: Any, named: list[Any] | None) -> list[str]:
    """Write the named set (or renew the one there is); returns the usernames asked."""
    now = timezone.now()
    requests = ReviewRequest.objects.filter(version=version)
    if named is None:
        requests.update(requested_at=now, requested_by=actor)
        return list(requests.values_list("reviewer__username", flat=True))
    requests.delete()
    ReviewRequest.objects.bulk_create(
        ReviewRequest(version=version, reviewer=user, requested_by=actor, requested_at=now)
        for user in named
    )
    return [user.get_username() for user in named]


def deprecate(actor: Any, version: Version) -> Review:
    """Mark a version deprecated; verdicts no longer change its status. Deprecating a
    deprecated version writes nothing."""
    require(actor, "edit", version.prompt, "Only editors deprecate versions.")

    def write() -> Review:
        writing.lock(version.prompt)
        review = _review_of(version)
        if review.status == ReviewStatus.DEPRECATED:
            return review
        reason = f"deprecated version {version.number}"
        return _save_review(review, actor, ReviewStatus.DEPRECATED, reason)

    return writing.with_retry(write)


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
        writing.lock(version.prompt)
        comment = Comment(version=version, author=actor, **fields)
        attribute(comment, actor, reason).save()
        review = _review_of(version)
        _save_review(review, actor, _status(version, review.status), reason)
        data = {"verdict": comment.verdict, "status": review.status, "comment": comment.pk}
        _emit(events.REVIEW_VERDICT, actor, version, data)
        return comment

    return writing.with_retry(write)


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
        # The row as it is now, so the history record holds no stale field (an edit
        # may have changed the text since ``comment`` was read).
        fresh = Comment.objects.select_for_update().get(pk=comment.pk)
        if (fresh.resolved_at is not None) != resolved:
            fresh.resolved_at = timezone.now() if resolved else None
            attribute(fresh, actor, "thread resolved" if resolved else "thread reopened")
            fresh.save(update_fields=["resolved_at"])
    for name in ("body", "edited_at", "resolved_at"):
        setattr(comment, name, getattr(fresh, name))
    return comment


def edit_comment(actor: Any, comment: Comment, body: Any) -> Comment:
    """Change the text of one's own comment. The earlier text stays in the comment's
    history (see earlier_texts); the same text again writes nothing."""
    require(actor, "edit", comment.version.prompt, "Only editors edit comments.")
    if actor.pk != comment.author_id:
        raise Forbidden("Only its author edits a comment.", reason="not_author")
    body = _check_body(body)
    with transaction.atomic():
        # The row as it is now, so the history record holds no stale field.
        fresh = Comment.objects.select_for_update().get(pk=comment.pk)
        if fresh.body != body:
            fresh.body = body
            fresh.edited_at = timezone.now()
            attribute(fresh, actor, EDITED).save(update_fields=["body", "edited_at"])
    for name in ("body", "edited_at", "resolved_at"):
        setattr(comment, name, getattr(fresh, name))
    return comment
