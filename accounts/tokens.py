"""Issuing, checking and revoking API tokens.

A raw token reads ``preg_<prefix>_<secret>``. The prefix finds the row; the secret
is checked against a keyed digest in constant time. A known token is answered from
the shared cache, so a warm request reads no table; revoking drops that entry.

A view on the fetch path may name the cache entries it is about to read (``also``):
they are read in the same round trip as the token and handed to the view on
``user.prefetched``, so a warm resolve costs one round trip, like the cheapest view.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.base import ModelState
from django.utils import timezone

from accounts import token_rules
from accounts.models import ApiToken, Membership, Team
from registry_site.commit import now_and_after_commit
from registry_site.errors import Invalid, NotFound
from registry_site.memo import Memo

PREFIX = "preg"
PREFIX_SHAPE = re.compile(r"[0-9a-f]{12}")
CACHE_SECONDS = 300
TOUCH_EVERY = timedelta(minutes=1)
# Token prefix -> the id of the user it belongs to, which never changes: what a view
# needs to name the user's own entries before the token is read.
_owners = Memo(4096)


@dataclass
class TokenIdentity:
    """What a request needs to know about its token, cheap to cache."""

    id: int
    user_id: int
    scopes: frozenset[str]
    team_id: int | None
    expires_at: datetime | None
    digest: str
    last_used_at: datetime | None
    username: str
    is_active: bool
    is_staff: bool
    is_superuser: bool


def _digest(raw: str) -> str:
    key = (settings.TOKEN_PEPPER or settings.SECRET_KEY).encode()
    return hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()


def _cache_key(prefix: str) -> str:
    return f"tok:{prefix}"


def check_scopes(scopes: Any, caller: Any = None) -> list[str]:
    if scopes is None or scopes == []:
        return token_rules.default_scopes(caller, ApiToken.DEFAULT_SCOPES)
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise Invalid("scopes must be a list of strings.", {"field": "scopes"})
    unknown = sorted(set(scopes) - set(ApiToken.SCOPES))
    if unknown:
        raise Invalid(
            f"Unknown scope(s): {', '.join(unknown)}. Scopes are {', '.join(ApiToken.SCOPES)}.",
            {"field": "scopes", "unknown": unknown},
        )
    return [s for s in ApiToken.SCOPES if s in scopes]


def issue(
    actor: Any,
    *,
    name: str = "",
    scopes: Any = None,
    team: Team | None = None,
    expires_days: Any = None,
    user: Any = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user`` (default: the actor); returns the row and the raw value,
    which is never stored. A token creates tokens only within its reach (token_rules)."""
    owner = get_user_model().objects.get(pk=(user or actor).pk)
    caller = token_rules.caller_token(actor)
    token_rules.require_manage_scope(caller)
    scopes = check_scopes(scopes, caller)
    if not isinstance(name, str) or len(name) > 100 or "\x00" in name:
        raise Invalid("A token's name is text of at most 100 characters.", {"field": "name"})
    expires_at = None
    if expires_days is not None:
        if (
            isinstance(expires_days, bool)
            or not isinstance(expires_days, int)
            or not (1 <= expires_days <= 3650)
        ):
            raise Invalid(
                "expires_days is a whole number of days from 1 to 3650.", {"field": "expires_days"}
            )
        expires_at = timezone.now() + timedelta(days=expires_days)
    elif caller is not None:
        expires_at = caller.expires_at  # what a token creates never outlives it
    token_rules.check_new(caller, scopes, team, expires_at)
    if (
        team is not None
        and not owner.is_superuser
        and not Membership.objects.filter(team=team, user=owner).exists()
    ):
        raise NotFound(f"No team {team.slug}.")
    prefix = secrets.token_hex(6)
    raw = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=owner,
        name=name,
        prefix=prefix,
        digest=_digest(raw),
        scopes=scopes,
        team=team,
        expires_at=expires_at,
    )
    return token, raw


def revoke(user: Any, token_id: Any) -> ApiToken:
    """Revoke one of the user's own tokens (through a token: one within its reach);
    anyone else's is NotFound."""
    token = (
        token_rules.reachable(user, ApiToken.objects)
        .filter(pk=token_id if str(token_id).isdigit() else 0)
        .first()
    )
    if token is None:
        raise NotFound("No such token.")
    token_rules.check_revoke(token_rules.caller_token(user), token)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    prefix = token.prefix
    now_and_after_commit(lambda: cache.delete(_cache_key(prefix)))
    return token


def tokens_of(actor: Any) -> Any:
    """The tokens the actor may list: their own (through a token: within its reach)."""
    return token_rules.reachable(actor, ApiToken.objects.select_related("team"))


def forget_user(user: Any) -> None:
    """Drop cached tokens of a user whose account changed (deactivated, demoted)."""
    prefixes = ApiToken.objects.filter(user=user).values_list("prefix", flat=True)
    keys = [_cache_key(p) for p in prefixes]
    now_and_after_commit(lambda: cache.delete_many(keys))


def _load(prefix: str) -> TokenIdentity | None:
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or token.revoked_at is not None:
        return None
    u = token.user
    return TokenIdentity(
        id=token.pk,
        user_id=u.pk,
        scopes=frozenset(token.scopes),
        team_id=token.team_id,
        expires_at=token.expires_at,
        digest=token.digest,
        last_used_at=token.last_used_at,
        username=u.get_username(),
        is_active=u.is_active,
        is_staff=u.is_staff,
        is_superuser=u.is_superuser,
    )


def authenticate(raw: str, also: Callable[[int], list[str]] | None = None) -> Any | None:
    """The user a raw token acts for (with ``registry_token`` set), or None.

    ``also(user_id)``: more cache keys to read with the token's entry, once this process
    knows whose token it is; they land on ``user.prefetched`` (None: read, not there)."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not PREFIX_SHAPE.fullmatch(parts[1]):
        return None  # not a token of ours; never let it become a cache key
    prefix = parts[1]
    key = _cache_key(prefix)
    owner = _owners.get(prefix)
    extra = also(owner) if also is not None and owner is not None else []
    found = cache.get_many([key, *extra]) if extra else {key: cache.get(key)}
    identity = found.get(key)
    loaded = identity is None
    if loaded:
        identity = _load(prefix)
        if identity is None:
            return None
    if not hmac.compare_digest(identity.digest, _digest(raw)):
        return None
    _owners.put(prefix, identity.user_id)
    now = timezone.now()
    if not identity.is_active or (identity.expires_at and identity.expires_at <= now):
        return None
    if loaded or identity.last_used_at is None or now - identity.last_used_at > TOUCH_EVERY:
        identity.last_used_at = now
        if not _remember(key, identity):
            return None
    user = _user_of(identity)
    if extra and owner == identity.user_id:
        user.prefetched = {k: found.get(k) for k in extra}
    return user


def _remember(key: str, identity: TokenIdentity) -> bool:
    """Cache the identity and write down that the token was used, if it is still good.

    The entry is written first and the row after, on condition: a revocation,
    deactivation or deletion committed before shows as no row updated, and the entry
    just written is dropped again; one committed after drops the entry itself (after
    commit, see revoke and accounts.signals), which is then after our write. Either way
    no entry outlives the token's end.
    """
    cache.set(key, identity, CACHE_SECONDS)
    still_good = ApiToken.objects.filter(
        pk=identity.id, revoked_at__isnull=True, user__is_active=True
    ).update(last_used_at=identity.last_used_at)
    if not still_good:
        cache.delete(key)
    return bool(still_good)


def forget_token(prefix: str) -> None:
    """Drop the cached entry of a token whose row is gone (its user or team deleted)."""
    key = _cache_key(prefix)
    now_and_after_commit(lambda: cache.delete(key))


def _user_of(identity: TokenIdentity) -> Any:
    """A user object built from the cached identity, without reading the user table.

    Building a model instance runs every field's default; a warm fetch instead copies
    the attributes of one built before for the same identity (each request gets its
    own object: views set attributes on it)."""
    shape = (
        identity.user_id,
        identity.username,
        identity.is_active,
        identity.is_staff,
        identity.is_superuser,
    )
    attributes = _user_shapes.get(shape)
    if attributes is None:
        built = get_user_model()(
            pk=identity.user_id,
            username=identity.username,
            is_active=identity.is_active,
            is_staff=identity.is_staff,
            is_superuser=identity.is_superuser,
        )
        attributes = {k: v for k, v in built.__dict__.items() if k != "_state"}
        _user_shapes.put(shape, attributes)
    model = get_user_model()
    user = model.__new__(model)
    user.__dict__.update(attributes)
    user._state = ModelState()
    user._state.adding = False
    user._state.db = "default"
    user.registry_token = identity
    return user


# (user id, username, flags) -> the attributes of a user built from them.
_user_shapes = Memo(4096)
