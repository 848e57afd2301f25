"""Comment bodies as HTML: Markdown, then a sanitizer that keeps a small safe subset.

The sanitizer is what makes the output safe, not the Markdown step: whatever HTML a body
holds or Markdown produces, only the tags and attributes below survive; links keep only
http, https and mailto addresses and get rel="nofollow noopener"; <script> and <style>
go with their content. Rendering is cached by text, since the same bodies are shown on
every view of a page.
"""

from __future__ import annotations

from functools import lru_cache

import markdown as md
import nh3

TAGS = {
    "p", "br", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "a",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["fenced_code", "nl2br", "sane_lists"]

_cleaner = nh3.Cleaner(
    tags=TAGS,
    clean_content_tags={"script", "style"},
    attributes=ATTRIBUTES,
    url_schemes=URL_SCHEMES,
    # Only full addresses: a relative one could point anywhere on this site.
    url_relative="deny",
    link_rel="nofollow noopener",
    strip_comments=True,
)


@lru_cache(maxsize=512)
def render_markdown(text: str) -> str:
    """Sanitized HTML of a Markdown text (safe to mark safe in a template)."""
    html = md.markdown(text or "", extensions=EXTENSIONS, output_format="html")
    return _cleaner.clean(html)
