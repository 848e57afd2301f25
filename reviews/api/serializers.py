"""Shapes of the review API: comment threads and verdicts."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from prompts.markup import render_markdown
from registry_site.fields import Text, name_of, time_of


class CommentIn(serializers.Serializer):
    body = Text(max_length=10_000)
    parent = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    verdict = serializers.ChoiceField(choices=["", "approve", "request_changes"], required=False)
    line = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10**6)


class ReplyOut(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.IntegerField(allow_null=True)
    author = serializers.CharField()
    body = serializers.CharField(help_text="Markdown, as written")
    body_html = serializers.CharField(help_text="the body as sanitized HTML")
    verdict = serializers.ChoiceField(choices=["", "approve", "request_changes"])
    line = serializers.IntegerField(allow_null=True)
    resolved = serializers.BooleanField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)


class CommentOut(ReplyOut):
    replies = ReplyOut(many=True)


def comment_out(comment: Any) -> dict:
    return {
        "id": comment.pk,
        "parent": comment.parent_id,
        "author": name_of(comment.author),
        "body": comment.body,
        "body_html": render_markdown(comment.body),
        "verdict": comment.verdict,
        "line": comment.line,
        "resolved": comment.resolved_at is not None,
        "resolved_at": time_of(comment.resolved_at),
        "created_at": time_of(comment.created_at),
        "edited_at": time_of(comment.edited_at),
        "replies": [comment_out(r) for r in getattr(comment, "replies_list", [])],
    }
