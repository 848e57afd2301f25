"""The review part of the version and compare pages: comment threads with their forms,
threads shown beside the lines they are on, the review state and the review forms.

Only context is prepared here; the forms post to prompts.views.review, which calls the
services. A form that was refused comes back as ``bound`` and is shown in its place
with its errors and what was typed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils.text import Truncator

from accounts.permissions import can
from prompts.forms import newlines
from prompts.models import Prompt, Version
from reviews import services as review
from reviews.models import Comment, ReviewStatus

EXCERPT = 80
MAX_LINE = 10**6
VERDICT_CHOICES = [
    ("", "Comment only"),
    (Comment.Verdict.APPROVE, "Approve"),
    (Comment.Verdict.REQUEST_CHANGES, "Request changes"),
]

# ---------------------------------------------------------------------- forms


class BodyField(forms.CharField):
    """A comment's Markdown as typed, with LF line breaks (the service trims it)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        kwargs.setdefault("error_messages", {"required": "Write a comment."})
        super().__init__(widget=forms.Textarea, **kwargs)

    def to_python(self, value: Any) -> str:
        return newlines(super().to_python(value))


class ReviewRequestForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea, label="Note")
    reviewers = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Reviewers",
        error_messages={"invalid_choice": "%(value)s cannot review this version."},
    )

    def __init__(self, data: Any = None, *, candidates: list, named: list[str] = ()) -> None:
        super().__init__(data, initial={"reviewers": list(named)})
        names = [user.get_username() for user in candidates]
        self.fields["reviewers"].choices = [(name, name) for name in names]


class CommentForm(forms.Form):
    """A new thread (no parent) or a reply (parent: the thread or one of its posts)."""

    body = BodyField()
    line = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LINE,
        error_messages={"invalid": "A line is a number."},
    )
    parent = forms.IntegerField(
        required=False, min_value=1, max_value=review.MAX_ID, widget=forms.HiddenInput
    )
    verdict = forms.ChoiceField(required=False, choices=VERDICT_CHOICES, widget=forms.RadioSelect)


class EditForm(forms.Form):
    body = BodyField()

    def __init__(self, data: Any = None, *, comment_id: int) -> None:
        super().__init__(data)
        self.comment_id = comment_id


class ResolveForm(forms.Form):
    resolved = forms.TypedChoiceField(
        choices=[("true", "Resolve"), ("false", "Reopen")], coerce=lambda value: value == "true"
    )


# ---------------------------------------------------------------------- line notes


def _note(thread: Comment, href: str, replies: int) -> dict:
    return {
        "pk": thread.pk,
        "href": href,
        "count": 1 + replies,
        "resolved": thread.resolved_at is not None,
        "title": f"{thread.author.get_username()}: {Truncator(thread.body).chars(EXCERPT)}",
    }


def _notes_by_line(threads: list[Comment]) -> dict[int, list[dict]]:
    notes: dict[int, list[dict]] = {}
    for thread in threads:
        if thread.line:
            href = f"#comment-{thread.pk}"
            notes.setdefault(thread.line, []).append(_note(thread, href, len(thread.replies_list)))
    return notes


def line_notes(prompt: Prompt, old: Version, new: Version) -> tuple[dict, dict]:
    """The threads on the lines of two compared versions, by line number: the old
    version's and the new one's (each shown beside its own side's lines). One query."""
    found = (
        Comment.objects.filter(
            version_id__in={old.pk, new.pk}, parent__isnull=True, line__isnull=False
        )
        .select_related("author")
        .annotate(replies_count=Count("replies"))
        .order_by("created_at", "id")
    )
    pages = {
        v.pk: reverse("version", args=[prompt.team.slug, prompt.slug, v.number]) for v in (old, new)
    }
    notes: dict[int, dict[int, list[dict]]] = {old.pk: {}, new.pk: {}}
    for thread in found:
        href = f"{pages[thread.version_id]}#comment-{thread.pk}"
        notes[thread.version_id].setdefault(thread.line, []).append(
            _note(thread, href, thread.replies_count)
        )
    return notes[old.pk], notes[new.pk]


# ---------------------------------------------------------------------- version page


def _line_asked(request: HttpRequest, count: int) -> int | None:
    """``?line=N`` of a "comment on this line" link, when N is a line of the version."""
    raw = request.GET.get("line", "")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= count else None


def _reply_target(bound: Any, thread_of: dict[int, int]) -> int | None:
    """The thread a refused reply belongs to (None: it was a new thread)."""
    if not isinstance(bound, CommentForm):
        return None
    raw = str(bound.data.get("parent") or "")
    return thread_of.get(int(raw)) if raw.isdigit() and len(raw) < 20 else None


def _errors_of(bound: Any) -> list[str]:
    """Every error of a refused form, also shown in one place at the top of the page (a
    resolve or deprecate button has no field to show it beside)."""
    if bound is None:
        return []
    return [message for errors in bound.errors.values() for message in errors]


def context(
    request: HttpRequest, prompt: Prompt, version: Version, lines: list[dict], bound: Any
) -> dict:
    user = request.user
    state = review.review_state(version)
    open_for_writes = not prompt.is_archived
    may_comment = open_for_writes and can(user, "edit", prompt)
    may_judge = may_comment and can(user, "review", prompt) and user.pk != version.author_id
    found = review.threads(version)
    thread_of = {post.pk: t.pk for t in found for post in (t, *t.replies_list)}
    earlier = review.earlier_texts(post for t in found for post in (t, *t.replies_list))
    reply_to = _reply_target(bound, thread_of)
    threads = []
    for thread in found:
        posts = [thread, *thread.replies_list]
        for post in posts:
            post.earlier = earlier.get(post.pk, [])
            post.editable = may_comment and post.author_id == user.pk
            post.edit_form = (
                bound if isinstance(bound, EditForm) and bound.comment_id == post.pk else None
            )
        threads.append(
            {
                "comment": thread,
                "posts": posts,
                "reply_form": bound if reply_to == thread.pk else None,
            }
        )
    notes = _notes_by_line(found)
    comment_form = bound if isinstance(bound, CommentForm) and reply_to is None else None
    if comment_form is None:
        comment_form = CommentForm(initial={"line": _line_asked(request, len(lines))})
    under_way = state.status != ReviewStatus.DEPRECATED
    request_form = None
    if may_comment and under_way:
        request_form = bound if isinstance(bound, ReviewRequestForm) else None
        request_form = request_form or ReviewRequestForm(
            candidates=review.reviewer_candidates(version),
            named=[r.user.get_username() for r in state.reviewers],
        )
    return {
        "refused": _errors_of(bound),
        "lines": [{**line, "notes": notes.get(line["number"], [])} for line in lines],
        "threads": threads,
        "review_state": state,
        "may_comment": may_comment,
        "may_judge": may_judge,
        "may_deprecate": may_comment and under_way,
        "comment_form": comment_form,
        "request_form": request_form,
        "verdict_choices": VERDICT_CHOICES,
        "max_line": len(lines),
    }
