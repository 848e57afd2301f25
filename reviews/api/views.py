"""REST endpoints of reviewing: a version's review state, asking for a review,
deprecating, editing and resolving comments, and one's own review lists."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from prompts import services
from prompts.lookups import PromptScoped
from registry_site.api import ERRORS, RegistryView, checked
from registry_site.fields import StrictChar, Text
from reviews import my_reviews
from reviews import services as review
from reviews.api import serializers as s
from reviews.models import ReviewStatus

VERDICT = serializers.ChoiceField(choices=["approve", "request_changes"], allow_null=True)

# ---------------------------------------------------------------- shapes


class ReviewIn(serializers.Serializer):
    note = Text(required=False, max_length=review.NOTE_LIMIT)
    reviewers = serializers.ListField(
        child=StrictChar(max_length=150),
        required=False,
        max_length=review.MAX_REVIEWERS,
        help_text="usernames; they replace those named before (left out: keep them)",
    )


class ReviewerOut(serializers.Serializer):
    username = serializers.CharField()
    verdict = VERDICT
    pending = serializers.BooleanField(help_text="asked, and no verdict since")


class ReviewOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReviewStatus.values)
    requested_by = serializers.CharField(allow_null=True)
    reviewers = ReviewerOut(many=True)
    approvals = serializers.IntegerField()


class CommentPatch(serializers.Serializer):
    body = Text(max_length=review.BODY_LIMIT)


class ResolveIn(serializers.Serializer):
    resolved = serializers.BooleanField()


class ReviewItemOut(serializers.Serializer):
    team = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ReviewStatus.values)
    author = serializers.CharField(allow_null=True)
    requested_by = serializers.CharField(allow_null=True)
    approvals = serializers.IntegerField()
    open_threads = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class MyReviewsOut(serializers.Serializer):
    waiting_for_me = ReviewItemOut(many=True)
    mine = ReviewItemOut(many=True)


def review_out(state: review.ReviewState) -> dict:
    return {
        "status": state.status,
        "requested_by": s.name_of(state.requested_by),
        "reviewers": [
            {"username": r.user.get_username(), "verdict": r.verdict, "pending": r.pending}
            for r in state.reviewers
        ],
        "approvals": state.approvals,
    }


def _item(version: Any) -> dict:
    return {
        "team": version.prompt.team.slug,
        "slug": version.prompt.slug,
        "name": version.prompt.name,
        "version": version.number,
        "status": version.review.status,
        "author": s.name_of(version.author),
        "requested_by": s.name_of(version.review.requested_by),
        "approvals": version.approvals,
        "open_threads": version.open_threads,
        "updated_at": s.time_of(version.review.updated_at),
    }


# ---------------------------------------------------------------- views


class VersionScoped(PromptScoped):
    def version(self, request: Request, team: str, slug: str, number: int):
        return services.find_version(self.prompt(request, team, slug), number)


class VersionReview(VersionScoped):
    @extend_schema(responses={200: ReviewOut, **ERRORS}, operation_id="version_review_state")
    def get(self, request: Request, team: str, slug: str, number: int) -> Response:
        version = self.version(request, team, slug, number)
        return Response(review_out(review.review_state(version)))

    @extend_schema(
        request=ReviewIn,
        responses={200: ReviewOut, **ERRORS},
        operation_id="version_review_request",
        description="Ask for a review (editors): the version goes to in_review. 409 when "
        "it is deprecated; 400 when a named user may not review it or wrote it.",
    )
    def post(self, request: Request, team: str, slug: str, number: int) -> Response:
        version = self.version(request, team, slug, number)
        data = checked(ReviewIn, request.data)
        review.request_review(
            request.user, version, note=data.get("note", ""), reviewers=data.get("reviewers")
        )
        return Response(review_out(review.review_state(version)))


class VersionDeprecate(VersionScoped):
    @extend_schema(
        request=None,
        responses={200: ReviewOut, **ERRORS},
        description="Retire a version (editors); verdicts no longer change its status.",
    )
    def post(self, request: Request, team: str, slug: str, number: int) -> Response:
        version = self.version(request, team, slug, number)
        review.deprecate(request.user, version)
        return Response(review_out(review.review_state(version)))


class CommentDetail(VersionScoped):
    @extend_schema(
        request=CommentPatch,
        responses={200: s.CommentOut, **ERRORS},
        description="Edit one's own comment (403 `not_author` for anyone else's); the "
        "earlier text stays in its history.",
    )
    def patch(self, request: Request, team: str, slug: str, number: int, comment_id: int):
        version = self.version(request, team, slug, number)
        comment = review.find_comment(version, comment_id)
        data = checked(CommentPatch, request.data)
        review.edit_comment(request.user, comment, data["body"])
        return Response(s.comment_out(review.with_replies(comment)))


class CommentResolve(VersionScoped):
    @extend_schema(
        request=ResolveIn,
        responses={200: s.CommentOut, **ERRORS},
        description="Resolve (true) or reopen (false) a thread, by its first comment.",
    )
    def post(self, request: Request, team: str, slug: str, number: int, comment_id: int):
        version = self.version(request, team, slug, number)
        comment = review.find_comment(version, comment_id)
        data = checked(ResolveIn, request.data)
        review.set_thread_resolved(request.user, comment, data["resolved"])
        return Response(s.comment_out(review.with_replies(comment)))


class MyReviews(RegistryView):
    @extend_schema(
        responses={200: MyReviewsOut, **ERRORS},
        description="Versions waiting for the caller's verdict, and the caller's own "
        f"versions waiting for others (the newest {my_reviews.LIMIT} of each).",
    )
    def get(self, request: Request) -> Response:
        waiting, mine = my_reviews.my_reviews(request.user)
        return Response(
            {
                "waiting_for_me": [_item(v) for v in waiting.versions],
                "mine": [_item(v) for v in mine.versions],
            }
        )


class CommentList(PromptScoped):
    @extend_schema(responses={200: s.CommentOut(many=True), **ERRORS})
    def get(self, request: Request, team: str, slug: str, number: int) -> Response:
        version = services.find_version(self.prompt(request, team, slug), number)
        return Response([s.comment_out(c) for c in review.threads(version)])

    @extend_schema(request=s.CommentIn, responses={201: s.CommentOut, **ERRORS})
    def post(self, request: Request, team: str, slug: str, number: int) -> Response:
        version = services.find_version(self.prompt(request, team, slug), number)
        data = checked(s.CommentIn, request.data)
        comment = review.add_comment(request.user, version, **data)
        return Response(s.comment_out(comment), status=status.HTTP_201_CREATED)
