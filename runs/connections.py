"""Team connections to model providers: checked, stored with their secrets encrypted,
and managed by team admins only."""


from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import SLUG_PATTERN, Team
from accounts.services import require
from registry_site import outbound
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.history import attribute
from runs import crypto
from runs.models import Connection, Provider

URL_CHARS = 2000
KEY_CHARS = 500
MAX_MODELS = 100
MODEL_CHARS = 200
MAX_HEADERS = 20
HEADER_VALUE_CHARS = 2000
MAX_PER_TEAM = 50
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
# Headers the adapters set themselves or that would break the request.
_RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection"}


# ------------------------------------------------------------------ connection checks


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not re.match(SLUG_PATTERN, name):
        raise Invalid(
            "A connection's name is 1 to 64 lowercase letters, digits or hyphens.",
            {"field": "name"},
        )
    return name


def _check_provider(provider: Any) -> str:
    if provider not in Provider.values:
        raise Invalid(
            f"provider is one of {', '.join(Provider.values)}.",
            {"field": "provider", "allowed": list(Provider.values)},
        )
    return provider


def _check_base_url(url: Any) -> str:
    def refuse(message: str) -> Invalid:
        return Invalid(message, {"field": "base_url"})

    if not isinstance(url, str) or not url.strip():
        raise refuse("A connection needs a base URL.")
    url = url.strip().rstrip("/")
    if len(url) > URL_CHARS or not url.isascii() or any(ord(c) < 33 for c in url):
        raise refuse(f"A base URL is at most {URL_CHARS} characters, percent-encoded.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse("A base URL starts with http:// or https:// and names a host.")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise refuse("Leave user names, passwords and fragments out of the base URL.")
    try:
        outbound.check_url(url)
    except outbound.OutboundRefused as refused:
        raise refuse(f"This address may not be called: {refused}") from None
    return url


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise Invalid("A connection needs an API key.", {"field": "api_key"})
    key = key.strip()
    if len(key) > KEY_CHARS or any(ord(c) < 33 or ord(c) == 127 for c in key):
        raise Invalid(
            f"An API key is at most {KEY_CHARS} characters, without spaces.",
            {"field": "api_key"},
        )
    return key


def _check_models(names: Any) -> list[str]:
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Invalid("models is a list of model names.", {"field": "models"})
    cleaned = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if len(cleaned) > MAX_MODELS or any(len(n) > MODEL_CHARS or "\x00" in n for n in cleaned):
        raise Invalid(
            f"At most {MAX_MODELS} model names of at most {MODEL_CHARS} characters.",
            {"field": "models"},
        )
    return cleaned


def _check_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    refuse = Invalid(
        f"headers maps at most {MAX_HEADERS} header names to text values "
        f"(not {', '.join(sorted(_RESERVED_HEADERS))}).",
        {"field": "headers"},
    )
    if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
        raise refuse
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise refuse
        if name.lower() in _RESERVED_HEADERS or not isinstance(value, str):
            raise refuse
        if len(value) > HEADER_VALUE_CHARS or any(c in value for c in "\r\n\x00"):
            raise refuse
    return dict(headers)


def key_hint(key: str) -> str:
    """Enough of a key to tell keys apart (``sk-…9f2c``), never enough to matter."""
    if len(key) >= 16:
        return f"{key[:3]}…{key[-4:]}"
    return "…"


# ------------------------------------------------------------------ connections


def _require_admin(actor: Any, team: Team) -> None:
    require(actor, "admin", team, "Only team admins manage connections.")


def connections_of(actor: Any, team: Team) -> QuerySet:
    """The team's connections, by name; every member may list them."""
    require(actor, "view", team, "Only members see connections.")
    crypto.require_configured()
    return Connection.objects.filter(team=team).order_by("name")


def find_connection(actor: Any, team: Team, name: Any) -> Connection:
    require(actor, "view", team, "Only members see connections.")
    crypto.require_configured()
    found = (
        Connection.objects.filter(team=team, name=name).select_related("team").first()
        if isinstance(name, str)
        else None
    )
    if found is None:
        raise NotFound(f"No connection {name} in {team.slug}.")
    return found


def _store_key(connection: Connection, key: str) -> None:
    connection.api_key_encrypted = crypto.encrypt(key)
    connection.key_hint = key_hint(key)


def _store_headers(connection: Connection, headers: dict[str, str]) -> None:
    connection.headers_encrypted = crypto.encrypt(json.dumps(headers)) if headers else ""
    connection.header_names = sorted(headers)


def create_connection(
    actor: Any,
    team: Team,
    *,
    name: Any,
    provider: Any,
    base_url: Any,
    api_key: Any,
    models: Any = None,
    headers: Any = None,
) -> Connection:
    _require_admin(actor, team)
    crypto.require_configured()
    connection = Connection(
        team=team,
        name=_check_name(name),
        provider=_check_provider(provider),
        base_url=_check_base_url(base_url),
        model_names=_check_models(models),
        created_by=actor,
    )
    _store_key(connection, _check_key(api_key))
    _store_headers(connection, _check_headers(headers))
    taken = Conflict(f"{team.slug} has a connection named {connection.name}.", {"field": "name"})
    with transaction.atomic():
        if Connection.objects.filter(team=team, name=connection.name).exists():
            raise taken
        if Connection.objects.filter(team=team).count() >= MAX_PER_TEAM:
            raise Conflict(f"A team has at most {MAX_PER_TEAM} connections.", {"reason": "limit"})
        try:
            with transaction.atomic():
                attribute(connection, actor, f"connection {connection.name} added").save()
        except IntegrityError:
            raise taken from None
    return connection


def update_connection(
    actor: Any,
    connection: Connection,
    *,
    name: Any = None,
    provider: Any = None,
    base_url: Any = None,
    api_key: Any = None,
    models: Any = None,
    headers: Any = None,
) -> Connection:
    """Change what is given (None: keep it); a new ``api_key`` rotates the key."""
    _require_admin(actor, connection.team)
    crypto.require_configured()
    changed = []
    if name is not None and name != connection.name:
        connection.name = _check_name(name)
        changed.append("name")
    if provider is not None and provider != connection.provider:
        connection.provider = _check_provider(provider)
        changed.append("provider")
    if base_url is not None:
        url = _check_base_url(base_url)
        if url != connection.base_url:
            connection.base_url = url
            changed.append("base_url")
    if models is not None:
        connection.model_names = _check_models(models)
        changed.append("models")
    if headers is not None:
        _store_headers(connection, _check_headers(headers))
        changed.append("headers")
    if api_key is not None:
        _store_key(connection, _check_key(api_key))
        changed.append("key rotated")
    if not changed:
        return connection
    connection.updated_at = timezone.now()
    taken = Conflict(
        f"{connection.team.slug} has a connection named {connection.name}.", {"field": "name"}
    )
    try:
        with transaction.atomic():
            attribute(connection, actor, f"changed {', '.join(changed)}").save()
    except IntegrityError:
        raise taken from None
    return connection


@transaction.atomic
def delete_connection(actor: Any, connection: Connection) -> None:
    """Remove the connection; its runs stay, with its name."""
    _require_admin(actor, connection.team)
    crypto.require_configured()
    attribute(connection, actor, f"connection {connection.name} deleted").delete()


def rotate_encryption() -> int:
    """Encrypt every stored secret again with the first key; returns how many
    connections were rewritten. History is untouched: it holds no secret."""
    count = 0
    for connection in Connection.objects.order_by("pk").iterator():
        fields = {"api_key_encrypted": crypto.reencrypt(connection.api_key_encrypted)}
        if connection.headers_encrypted:
            fields["headers_encrypted"] = crypto.reencrypt(connection.headers_encrypted)
        Connection.objects.filter(pk=connection.pk).update(**fields)
        count += 1
    return count
