"""What a person has to review, and what of theirs waits for others ("My reviews").

Each list is one query whatever the number of prompts, versions and comments, plus one
for the approvals of both lists together: the rules below are subqueries, and what one
may not see is filtered by ``accounts.permissions.visible`` like everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.permissions import visible
from prompts.models import Version
from reviews.models import Comment, Review, ReviewRequest, ReviewStatus
from reviews.services import approvals_of

LIMIT = 100  # versions listed per section; the page says when there are more
UNDER_REVIEW = (ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED, ReviewStatus.CHANGES_REQUESTED)
MINE_OPEN = (ReviewStatus.IN_REVIEW, ReviewStatus.CHANGES_REQUESTED)


def _live(user: Any, action: str) -> QuerySet:
    """Versions of prompts that are not archived, where ``user`` may do ``action``."""
    return visible(user, Version.objects.filter(prompt__archived_at__isnull=True), action)


def waiting_for(user: Any) -> QuerySet:
    """Versions waiting for ``user``'s verdict, not their own:

    * they were named as a reviewer and have given no verdict since they were asked
      (while the version is under review: in review, approved by someone else, or with
      changes requested by someone else); or
    * the version is in review, nobody was named, and they may review its prompt.
    """
    answered = Comment.objects.filter(
        version=OuterRef("version_id"), author=user, created_at__gte=OuterRef("requested_at")
    ).exclude(verdict="")
    asked = ReviewRequest.objects.filter(version=OuterRef("pk"), reviewer=user).filter(
        ~Exists(answered)
    )
    named = ReviewRequest.objects.filter(version=OuterRef("pk"))
    # The only candidates: versions naming the user, and versions in review. Starting
    # from them (two index lookups) keeps the cost off the number of approved versions,
    # which grows with the registry; filtering every reviewed version did not.
    candidates = (
        ReviewRequest.objects.filter(reviewer=user)
        .order_by()
        .values("version_id")
        .union(Review.objects.filter(status=ReviewStatus.IN_REVIEW).order_by().values("version_id"))
    )
    return (
        _live(user, "review")
        .filter(pk__in=candidates, review__status__in=UNDER_REVIEW)
        .filter(Exists(asked) | (Q(review__status=ReviewStatus.IN_REVIEW) & ~Exists(named)))
        .exclude(author=user)
    )


def waiting_for_others(user: Any) -> QuerySet:
    """``user``'s own versions that are in review or have changes requested."""
    return _live(user, "view").filter(author=user, review__status__in=MINE_OPEN)


def _open_threads() -> Coalesce:
    threads = (
        Comment.objects.filter(version=OuterRef("pk"), parent__isnull=True, resolved_at=None)
        .order_by()
        .values("version")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(threads, output_field=IntegerField()), Value(0))


def _listed(versions: QuerySet) -> list[Version]:
    """The newest ``LIMIT`` + 1 (to tell there are more), ready to show: prompt, team,
    author and review joined, open threads counted."""
    return list(
        versions.select_related("prompt__team", "author", "review__requested_by")
        .annotate(open_threads=_open_threads())
        .order_by("-review__updated_at", "-pk")[: LIMIT + 1]
    )


@dataclass
class Section:
    versions: list[Version]  # each with ``open_threads`` and ``approvals``
    more: bool = False  # there are more than LIMIT


def my_reviews(user: Any) -> tuple[Section, Section]:
    """(waiting for me, mine waiting for others): three queries."""
    sections = []
    for found in (_listed(waiting_for(user)), _listed(waiting_for_others(user))):
        sections.append(Section(versions=found[:LIMIT], more=len(found) > LIMIT))
    listed = [version for section in sections for version in section.versions]
    approvals = approvals_of(listed)
    for version in listed:
        version.approvals = approvals[version.pk]
    return sections[0], sections[1]


def waiting_count(user: Any) -> int:
    """How many versions wait for ``user`` (the number in the top navigation)."""
    return waiting_for(user).count()
