"""Finding prompts: one restricted, filtered queryset for the API list and the pages.

Searching reads one document per prompt, ``Prompt.search_text``, never the versions:
the words of the name, slug, tags, description and the latest version's template (or
its chat messages' contents), lowercased and separated by single spaces. The services
that change any of those write it (``search_document``).

What a search ``q`` finds, the same on both databases:

* ``q`` is cut into words (runs of letters and digits, any script); punctuation,
  quotes and operators are separators, so no input has a meaning of its own.
* Every word must begin a word of the document: "classif" finds "classifier",
  "ticket-classifier" finds the slug, "ifier" finds nothing. Substrings inside a word
  are deliberately not matched: no index serves them at 100,000 prompts.
* Matches come in the lists' stable order, by team and slug, which the (team, slug)
  index serves: a page of a broad search reads a page of rows. Any ordering by
  relevance has to read every match first (ranking a word found in all of 100,000
  prompts took seconds with ``ts_rank``, and 110 ms even for "name has every word").

On PostgreSQL the match is ``to_tsvector('simple', search_text) @@ to_tsquery(...)``
with each word as a prefix (``word:*``), served by the GIN index ``prompt_search``
(migration 0006; the expression here and there must stay the same). On SQLite each
word is a prefix match against the document's words, with no index.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.permissions import visible
from prompts.models import Prompt

MAX_QUERY = 200
MAX_WORDS = 20
# Large chat prompts could exceed what a PostgreSQL tsvector holds (1 MB); the name,
# slug, tags and description come first, so only the far end of a long text is left out.
MAX_DOCUMENT = 100_000
SEARCH_INDEX = "prompt_search"
_WORD = re.compile(r"[^\W_]+")


def find_prompts(
    user: Any,
    *,
    q: str | None = None,
    tags: list[str] | None = None,
    team: str | None = None,
    archived: bool = False,
    excluding: QuerySet | None = None,
) -> QuerySet:
    """Prompts ``user`` may see, matching every filter given, in a stable order.

    ``archived``: the archived prompts instead, those ``user`` may restore (admins);
    nobody else finds a prompt once it is archived.
    ``excluding``: a subquery of prompt ids to leave out (e.g. those fetched lately).
    """
    prompts = visible(
        user,
        Prompt.objects.filter(archived_at__isnull=not archived),
        "admin" if archived else "view",
    )
    if excluding is not None:
        prompts = prompts.exclude(pk__in=excluding)
    if team:
        prompts = prompts.filter(team__slug=team)
    if tags:
        prompts = prompts.filter(_any_tag(tags))
    order: tuple[str, ...] = ("team_id", "slug")
    if q and q.strip():
        words = words_of(q[:MAX_QUERY])[:MAX_WORDS]
        if not words:
            return Prompt.objects.none()  # nothing but punctuation: no word to look for
        prompts = _matching(prompts, words)
    # The document is for the database to search, never for a page to show.
    return prompts.select_related("team", "latest_version").defer("search_text").order_by(*order)


def words_of(text: str) -> list[str]:
    """The words of a text as search sees them: letters and digits, lowercased."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def search_document(prompt: Prompt, version: Any) -> str:
    """What search reads for ``prompt`` whose latest version is ``version`` (or None)."""
    parts = [prompt.name, prompt.slug, " ".join(prompt.tags or []), prompt.description]
    if version is not None:
        parts.append(version.template or "")
        parts += [m["content"] for m in version.messages or [] if isinstance(m, dict)]
    words = " ".join(w for part in parts if isinstance(part, str) for w in words_of(part))
    return words[:MAX_DOCUMENT].rsplit(" ", 1)[0] if len(words) > MAX_DOCUMENT else words


def _any_tag(tags: list[str]) -> Q:
    condition = Q()
    for tag in {t.strip().lower() for t in tags if t.strip()}:
        if connection.vendor == "postgresql":
            condition |= Q(tags__contains=[tag])  # jsonb containment
        else:
            # Tags are validated to hold no quote, so the quoted form matches exactly.
            condition |= Q(tags__icontains=f'"{tag}"')
    return condition


def _matching(prompts: QuerySet, words: list[str]) -> QuerySet:
    if connection.vendor == "postgresql":
        return _full_text(prompts, words)
    for word in words:
        prompts = prompts.filter(
            Q(search_text__startswith=word) | Q(search_text__contains=" " + word)
        )
    return prompts


def _full_text(prompts: QuerySet, words: list[str]) -> QuerySet:
    # Imported here: django.contrib.postgres needs the PostgreSQL driver.
    from django.contrib.postgres.search import SearchQuery

    # Words hold letters and digits only, so this raw query has no operator but ours.
    query = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="simple")
    return prompts.alias(document=search_vector()).filter(document=query)


def search_vector() -> Any:
    """The expression the GIN index holds; a query must use exactly this to be served."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector("search_text", config="simple")
