"""What a token may do with its owner's other tokens.

A signed-in user (a session, a command) manages all their own tokens. A token manages
tokens only with the ``tokens`` scope, which nobody gets without asking for it, and
then within its own reach: it sees and revokes only the tokens of its team (a token
with no team: all of its owner's), and what it creates never outranks it (the same
team, no scope it lacks) nor outlives it (an expiry no later than its own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from accounts.models import ApiToken, Team
from registry_site.errors import Forbidden, Invalid

MANAGE = "tokens"


def caller_token(actor: Any) -> Any:
    """The token the actor authenticated with (None: a session or a command)."""
    return getattr(actor, "registry_token", None)


def require_manage_scope(caller: Any) -> None:
    if caller is not None and MANAGE not in caller.scopes:
        raise Forbidden(
            "Managing tokens through a token needs a token with the tokens scope.",
            reason="tokens_scope",
        )


def reachable(actor: Any, tokens: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
    """The actor's tokens that the actor may list and revoke."""
    caller = caller_token(actor)
    require_manage_scope(caller)
    mine = tokens.filter(user_id=actor.pk)
    if caller is not None and caller.team_id is not None:
        mine = mine.filter(team_id=caller.team_id)
    return mine


def default_scopes(caller: Any, defaults: list[str]) -> list[str]:
    """Without scopes named: the defaults, narrowed to what the calling token holds."""
    if caller is None:
        return list(defaults)
    scopes = [scope for scope in defaults if scope in caller.scopes]
    if not scopes:
        raise Invalid("Name the scopes of the new token.", {"field": "scopes"})
    return scopes


def check_new(caller: Any, scopes: list[str], team: Team | None, expires_at: Any) -> None:
    """Refuse a new token that would outrank or outlive the token creating it."""
    if caller is None:
        return
    require_manage_scope(caller)
    if caller.team_id is not None and (team is None or team.pk != caller.team_id):
        raise Forbidden("A team's token creates tokens for that team only.", reason="token_team")
    _check_within_scopes(caller, scopes, "create")
    if caller.expires_at is not None and (expires_at is None or expires_at > caller.expires_at):
        raise Forbidden(
            "A token cannot create a token that outlives it: "
            f"expire it by {_time(caller.expires_at)} at the latest.",
            reason="token_expiry",
            details={"latest": _time(caller.expires_at)},
        )


def check_revoke(caller: Any, token: ApiToken) -> None:
    """A token revokes only tokens it could have created: none with a scope it lacks."""
    if caller is not None:
        _check_within_scopes(caller, token.scopes, "revoke")


def _check_within_scopes(caller: Any, scopes: list[str], verb: str) -> None:
    beyond = sorted(set(scopes) - set(caller.scopes))
    if beyond:
        raise Forbidden(
            f"A token cannot {verb} a token with scopes it lacks: {', '.join(beyond)}.",
            reason="token_scopes",
            details={"scopes": beyond},
        )


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
