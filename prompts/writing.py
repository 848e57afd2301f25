"""What every writer of prompts and versions shares, one layer below the services.

Input checks, a version's content and hash, the rows of a prompt, its addresses and
its versions, and taking turns on a prompt (a row lock and a short retry under
contention). The services of prompts, reviews, releases and the importer all write
through these, so a rule is checked one way and a row is written one way. Nothing
here asks who may: the callers have.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction

from accounts.models import SLUG_PATTERN
from prompts import templating
from prompts.models import Prompt, PromptAddress, Version
from prompts.search import search_document
from registry_site.errors import Conflict, Invalid
from registry_site.history import attribute
from webhooks import events

T = TypeVar("T")

# ---------------------------------------------------------------- what apps above add
#
# An app above prompts (composition) lets a template include other prompts. Prompts
# asks it through these two lists, never importing it:
# * a *source reader* gets one template source and where it sits ({"field": "template"}
#   or {"field": "messages", "index": i}) and returns it as the sandbox is to check it
#   (its references taken out, lines kept), raising a DomainError for a reference
#   written in a form it refuses;
# * a *version check* gets (actor, prompt, version) inside the transaction that writes
#   the version (services and the importer alike) and raises a DomainError to refuse
#   it: nothing is written then. It may write rows of its own beside the version.
# * an *archive check* gets (actor, prompt, force) inside the transaction that
#   archives the prompt, under its row lock, and raises a DomainError to refuse it
#   (composition: live prompts include it; ``force`` archives anyway).
# With none registered an include is refused by the sandbox, as it always was.
SourceReader = Callable[[str, dict], str]
VersionCheck = Callable[[Any, Prompt, Version], None]
ArchiveCheck = Callable[[Any, Prompt, bool], None]
SOURCE_READERS: list[SourceReader] = []
VERSION_CHECKS: list[VersionCheck] = []
ARCHIVE_CHECKS: list[ArchiveCheck] = []


def register_source_reader(reader: SourceReader) -> None:
    if reader not in SOURCE_READERS:
        SOURCE_READERS.append(reader)


def register_version_check(check: VersionCheck) -> None:
    if check not in VERSION_CHECKS:
        VERSION_CHECKS.append(check)


def register_archive_check(check: ArchiveCheck) -> None:
    if check not in ARCHIVE_CHECKS:
        ARCHIVE_CHECKS.append(check)


def checkable(source: Any, where: dict) -> Any:
    """``source`` as the sandbox checks it: what the registered readers leave of it."""
    if not isinstance(source, str):
        return source
    for reader in SOURCE_READERS:
        source = reader(source, where)
    return source


def checkable_messages(messages: Any) -> Any:
    if not isinstance(messages, list):
        return messages
    return [
        {**m, "content": checkable(m["content"], {"field": "messages", "index": i})}
        if isinstance(m, dict) and isinstance(m.get("content"), str)
        else m
        for i, m in enumerate(messages)
    ]


MAX_TAGS = 20
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")
WRITE_ATTEMPTS = 5


# ---------------------------------------------------------------- input checks


def check_slug(slug: Any) -> str:
    if not isinstance(slug, str) or not re.match(SLUG_PATTERN, slug):
        raise Invalid(
            "A slug is 1 to 64 lowercase letters, digits or hyphens, not starting with a hyphen.",
            {"field": "slug"},
        )
    return slug


def check_text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text.", {"field": field})
    if "\x00" in value:
        raise Invalid(f"{field} must not contain NUL characters.", {"field": field})
    value = value.strip() if field == "name" else value
    if required and not value:
        raise Invalid(f"{field} is required.", {"field": field})
    if len(value) > limit:
        raise Invalid(f"{field} is longer than {limit} characters.", {"field": field})
    return value


def check_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Invalid("tags must be a list of strings.", {"field": "tags"})
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    bad = [t for t in cleaned if not TAG_PATTERN.match(t)]
    if bad:
        raise Invalid(
            "A tag is up to 40 lowercase letters, digits, '-', '_', '.' or ':'.",
            {"field": "tags", "invalid": bad},
        )
    if len(cleaned) > MAX_TAGS:
        raise Invalid(f"At most {MAX_TAGS} tags.", {"field": "tags"})
    return cleaned


def check_config(config: Any) -> dict:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise Invalid("config must be a JSON object.", {"field": "config"})
    try:
        encoded = json.dumps(config, allow_nan=False)
    except (TypeError, ValueError):
        raise Invalid("config must be plain JSON.", {"field": "config"}) from None
    if "\\u0000" in encoded:
        raise Invalid("config must not contain NUL characters.", {"field": "config"})
    if len(encoded) > 100_000:
        raise Invalid("config is larger than 100 kB.", {"field": "config"})
    return config


def content_hash(kind: str, template: str, messages: list, variables: list, config: dict) -> str:
    canonical = json.dumps(
        {
            "kind": kind,
            "template": template,
            "messages": messages,
            "variables": variables,
            "config": config,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def version_content(template: Any, messages: Any, variables: Any, config: Any) -> dict:
    """Validate a version's content; returns the fields of the version row."""
    if messages is not None and template not in (None, ""):
        raise Invalid("Give a template or chat messages, not both.", {"field": "messages"})
    if messages is not None:
        kind = Version.Kind.CHAT
        detected = templating.check_messages(checkable_messages(messages))
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        template = ""
    else:
        kind = Version.Kind.TEXT
        if not isinstance(template, str) or not template.strip():
            raise Invalid("A template is required.", {"field": "template"})
        detected = templating.check(checkable(template, {"field": "template"}))
        messages = []
    merged = templating.merge_variables(variables or [], detected)
    config = check_config(config)
    return {
        "kind": kind,
        "template": template,
        "messages": messages,
        "variables": merged,
        "config": config,
        "content_hash": content_hash(kind, template, messages, merged, config),
    }


# ---------------------------------------------------------------- rows


def author_of(actor: Any) -> Any:
    """The user a row names as its author: nobody for a command run without one."""
    return actor if getattr(actor, "is_authenticated", False) else None


def new_prompt(
    actor: Any,
    team: Any,
    *,
    slug: str,
    name: str,
    description: str,
    tags: list[str],
    reason: str,
    now: datetime,
    former_slugs: Iterable[str] = (),
    archived: bool = False,
) -> Prompt:
    """A prompt row, recorded in history with ``reason``, and its addresses: its slug
    and any former ones. The unique (team, slug) index turns a racing duplicate into
    an IntegrityError."""
    prompt = Prompt(
        team=team,
        slug=slug,
        name=name,
        description=description,
        tags=tags,
        author=author_of(actor),
        updated_at=now,
        archived_at=now if archived else None,
    )
    attribute(prompt, actor, reason).save()
    for address in [slug, *former_slugs]:
        PromptAddress.objects.create(team=team, slug=address, prompt=prompt)
    return prompt


def new_version(
    actor: Any,
    prompt: Prompt,
    *,
    number: int,
    content: dict,
    change_note: str,
    created_at: datetime | None = None,
    imported_author: str = "",
    imported_at: datetime | None = None,
) -> Version:
    """A version row (``content`` as ``version_content`` gives it), announced to
    webhooks. An imported version keeps whom and when its files name as provenance."""
    version = Version.objects.create(
        prompt=prompt,
        number=number,
        author=author_of(actor),
        change_note=change_note,
        imported_author=imported_author,
        imported_at=imported_at,
        **({"created_at": created_at} if created_at else {}),
        **content,
    )
    for check in VERSION_CHECKS:
        check(actor, prompt, version)
    events.emit(
        events.VERSION_CREATED, team=prompt.team, actor=actor, prompt=prompt, version=version
    )
    return version


def set_latest(prompt: Prompt, version: Version, *, actor: Any = None, reason: str = "") -> None:
    """Point the prompt at its newest version and rewrite its search text. With a
    ``reason`` the change is recorded in history; without, it is not: for a prompt
    just created, its creation record says it all."""
    prompt.latest_version = version
    prompt.search_text = search_document(prompt, version)
    if not reason:
        prompt.skip_history_when_saving = True
        prompt.save(update_fields=["latest_version", "search_text"])
        del prompt.skip_history_when_saving
        return
    prompt.updated_at = max(prompt.updated_at, version.created_at)
    attribute(prompt, actor, reason)
    prompt.save(update_fields=["latest_version", "updated_at", "search_text"])


# ---------------------------------------------------------------- taking turns


def with_retry(write: Callable[[], T]) -> T:
    """Run a write transaction, retrying a few times when a concurrent writer won.

    PostgreSQL serializes writers of one prompt with a row lock; SQLite with
    immediate transactions. Both can still give up under heavy contention (a busy
    database, a racing insert), and a short retry is what the caller would do anyway.
    Inside an outer transaction a retry cannot help, so the conflict is reported at once.
    """
    attempts = 1 if connection.in_atomic_block else WRITE_ATTEMPTS
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return write()
        except (IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and not _is_contention(exc):
                raise
            if attempt == attempts - 1:
                raise Conflict(
                    "The prompt changed at the same time; try again.",
                    {"reason": "concurrent_write"},
                ) from exc
            time.sleep(0.02 * (2**attempt))
    raise AssertionError("unreachable")


def _is_contention(exc: OperationalError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("locked", "deadlock", "could not serialize", "busy"))


def lock(prompt: Prompt) -> Prompt:
    """Re-read the prompt row with a lock, so writers of one prompt take turns.

    No join here: on PostgreSQL a joined row would come from the snapshot taken before
    the lock was granted, so the latest version is read afterwards, by its own query.
    """
    locked = Prompt.objects.select_for_update().get(pk=prompt.pk)
    locked.team = prompt.team
    return locked
