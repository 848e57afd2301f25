"""``{{ comment.body|markdown }}``: a comment body as sanitized HTML (prompts.markup)."""

from django import template
from django.utils.safestring import SafeString, mark_safe

from prompts.markup import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return mark_safe(render_markdown(str(text or "")))  # noqa: S308 - sanitized by nh3
