"""Pages: the review forms of the version page, and "My reviews".

Each form posts here; the view parses it, calls the service in ``reviews.services`` and
redirects back to the version page with a message. A refusal (a DomainError, or the
form's own check) shows the version page again with the form's errors and what was
typed; a version or comment the user may not see is a 404, as everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from prompts import services
from prompts.lookups import prompt_or_404
from prompts.models import Prompt, Version
from registry_site.errors import DomainError, NotFound
from registry_site.pages import form_error
from reviews import my_reviews
from reviews import services as review
from reviews.models import Comment
from reviews.panel import CommentForm, EditForm, ResolveForm, ReviewRequestForm
from reviews.views.inspect import render_version_page

MAX_NUMBER = 2**31 - 1


def _version_of(request: HttpRequest, team: str, slug: str, number: int) -> tuple[Prompt, Version]:
    """The prompt (not archived: archived prompts are read-only) and its version, or 404."""
    prompt = prompt_or_404(request, team, slug)
    if not 1 <= number <= MAX_NUMBER:
        raise Http404("No such version.")
    try:
        return prompt, services.find_version(prompt, number)
    except DomainError:
        raise Http404("No such version.") from None


def _comment_of(version: Version, comment_id: int) -> Comment:
    try:
        return review.find_comment(version, comment_id)
    except NotFound:
        raise Http404("No such comment.") from None


def _page_of(version: Version, anchor: str = "") -> str:
    prompt = version.prompt
    url = reverse("version", args=[prompt.team.slug, prompt.slug, version.number])
    return f"{url}#{anchor}" if anchor else url


def _submit(
    request: HttpRequest,
    prompt: Prompt,
    version: Version,
    form: forms.Form,
    write: Callable[[dict], Any],
    done: Callable[[Any], tuple[str, str]],
) -> HttpResponse:
    """Check ``form``, ``write`` its data through a service, then redirect to the anchor
    ``done`` names with its message; or show the page again with the form's errors."""
    if not form.is_valid():
        return render_version_page(request, prompt, version, bound=form, status=400)
    try:
        result = write(form.cleaned_data)
    except NotFound:
        raise Http404("Not found.") from None
    except DomainError as error:
        form_error(form, error)
        return render_version_page(request, prompt, version, bound=form, status=error.status)
    text, anchor = done(result)
    messages.success(request, text)
    return redirect(_page_of(version, anchor))


@login_required
@require_POST
def request_review(request: HttpRequest, team: str, slug: str, number: int) -> HttpResponse:
    prompt, version = _version_of(request, team, slug, number)
    form = ReviewRequestForm(request.POST, candidates=review.reviewer_candidates(version))

    def write(data: dict) -> Any:
        return review.request_review(
            request.user, version, note=data["note"], reviewers=data["reviewers"]
        )

    return _submit(request, prompt, version, form, write, lambda _: ("Review requested.", "review"))


@login_required
@require_POST
def deprecate(request: HttpRequest, team: str, slug: str, number: int) -> HttpResponse:
    prompt, version = _version_of(request, team, slug, number)

    def write(data: dict) -> Any:
        return review.deprecate(request.user, version)

    done = lambda _: (f"Version {version.number} is deprecated.", "review")  # noqa: E731
    return _submit(request, prompt, version, forms.Form(request.POST), write, done)


@login_required
@require_POST
def add_comment(request: HttpRequest, team: str, slug: str, number: int) -> HttpResponse:
    prompt, version = _version_of(request, team, slug, number)
    form = CommentForm(request.POST)

    def write(data: dict) -> Comment:
        return review.add_comment(
            request.user,
            version,
            body=data["body"],
            parent=data["parent"],
            verdict=data["verdict"],
            line=data["line"],
        )

    def done(comment: Comment) -> tuple[str, str]:
        text = "Reply added." if comment.parent_id else "Comment added."
        if comment.verdict == Comment.Verdict.APPROVE:
            text = f"You approved version {version.number}."
        elif comment.verdict == Comment.Verdict.REQUEST_CHANGES:
            text = f"You requested changes to version {version.number}."
        return text, f"comment-{comment.pk}"

    return _submit(request, prompt, version, form, write, done)


@login_required
@require_POST
def edit_comment(
    request: HttpRequest, team: str, slug: str, number: int, comment_id: int
) -> HttpResponse:
    prompt, version = _version_of(request, team, slug, number)
    comment = _comment_of(version, comment_id)
    form = EditForm(request.POST, comment_id=comment.pk)

    def write(data: dict) -> Comment:
        return review.edit_comment(request.user, comment, data["body"])

    done = lambda c: ("Comment edited.", f"comment-{c.pk}")  # noqa: E731
    return _submit(request, prompt, version, form, write, done)


@login_required
@require_POST
def resolve_thread(
    request: HttpRequest, team: str, slug: str, number: int, comment_id: int
) -> HttpResponse:
    prompt, version = _version_of(request, team, slug, number)
    comment = _comment_of(version, comment_id)

    def write(data: dict) -> Comment:
        return review.set_thread_resolved(request.user, comment, data["resolved"])

    def done(thread: Comment) -> tuple[str, str]:
        text = "Thread resolved." if thread.resolved_at else "Thread reopened."
        return text, f"comment-{thread.pk}"

    return _submit(request, prompt, version, ResolveForm(request.POST), write, done)


@login_required
def my_reviews_page(request: HttpRequest) -> HttpResponse:
    waiting, mine = my_reviews.my_reviews(request.user)
    context = {"waiting": waiting, "mine": mine, "limit": my_reviews.LIMIT}
    return render(request, "reviews/my_reviews.html", context)


V = "p/<str:team>/<str:slug>/v/<int:number>"

urlpatterns = [
    path(f"{V}/review/", request_review, name="review-request"),
    path(f"{V}/deprecate/", deprecate, name="version-deprecate"),
    path(f"{V}/comments/", add_comment, name="comment-add"),
    path(f"{V}/comments/<int:comment_id>/edit/", edit_comment, name="comment-edit"),
    path(f"{V}/comments/<int:comment_id>/resolve/", resolve_thread, name="comment-resolve"),
    path("reviews/", my_reviews_page, name="my-reviews"),
]
