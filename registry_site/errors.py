"""Domain errors raised by services and mapped by the API and pages.

Each carries the code, status and details of the API's error contract, so the REST
layer maps them in one place and HTML views can show `message` as a form error.
"""

from typing import Any


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(
        self, message: str, details: dict[str, Any] | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class Invalid(DomainError):
    code = "invalid"
    status = 400


class NotFound(DomainError):
    """Also what a caller gets for an object it may not see."""

    code = "not_found"
    status = 404


class Forbidden(DomainError):
    """The caller may see the object but not do this; details.reason says why."""

    code = "forbidden"
    status = 403

    def __init__(self, message: str, reason: str = "role", details: dict[str, Any] | None = None):
        super().__init__(message, {"reason": reason, **(details or {})})


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Immutable(DomainError):
    code = "immutable"
    status = 405


# Every code the API answers in ``error.code``: (code, HTTP status, when). The schema's
# error body enumerates these and the README lists them; tests keep both, and the
# codes raised anywhere in the code, in step with this list.
ERROR_CODES: list[tuple[str, int, str]] = [
    ("invalid", 400, "bad input; `details.field` names the field when there is one"),
    ("missing_variables", 400, "rendering without values for these variables (`details.missing`)"),
    ("template_syntax", 400, "the template does not parse (`details.line`)"),
    ("template_unsafe", 400, "the template uses what the sandbox refuses"),
    ("render_limit", 400, "rendering went past its time or size limit"),
    ("render_error", 400, "the template failed while rendering"),
    ("bad_reference", 400, "an include that cannot be saved (`details.reference`, `details.why`)"),
    ("bad_archive", 400, "an import archive that cannot be read safely"),
    ("unauthenticated", 401, "no credentials, or a token that is unknown, revoked or expired"),
    ("forbidden", 403, "the caller may see this but not do it; `details.reason` says why"),
    ("not_found", 404, "does not exist, or the caller may not see it"),
    ("environment_not_found", 404, "the team has no environment of that name"),
    ("not_deployed", 404, "nothing of the prompt is live in that environment"),
    ("method_not_allowed", 405, "the path does not take this method"),
    ("immutable", 405, "versions never change; add a new one"),
    ("not_acceptable", 406, "no answer in the requested media type"),
    ("conflict", 409, "the state does not allow it now; `details.reason` or `details.field`"),
    ("breaking_change", 409, "the version needs variables callers of the live one never sent"),
    ("composition_failed", 409, "the composed text cannot be built now (`details.reference`)"),
    ("snippet_in_use", 409, "live prompts include the prompt to archive (`details.dependents`)"),
    ("not_configured", 409, "the feature needs server configuration that is missing"),
    ("too_large", 413, "the request body is over the limit"),
    ("unsupported_media_type", 415, "the body is not in a media type this path reads"),
    ("throttled", 429, "too many requests; `details.retry_after` and `Retry-After` say when"),
    ("server_error", 500, "a fault on the server's side"),
    ("provider_error", 502, "the model provider answered an error (`details.status`, `message`)"),
    ("provider_timeout", 504, "the model provider did not answer in time"),
]
ERROR_CODE_NAMES: list[str] = [code for code, _, _ in ERROR_CODES]

# Every ``details.reason`` of a 403 ``forbidden``.
FORBIDDEN_REASONS: list[tuple[str, str]] = [
    ("role", "the caller's role does not allow it"),
    ("scope", "the token's scopes or team do not allow it"),
    ("staff_only", "only staff may do it"),
    ("self_review", "nobody reviews their own version"),
    ("not_author", "only a comment's author edits it"),
    ("protected_environment", "only reviewers deploy to a protected environment"),
    ("approvals_required", "the environment needs more approvals of the version"),
    ("previous_environment", "the version must be live in the previous environment first"),
    ("evaluation_required", "the environment needs a passing evaluation of exactly that version"),
    ("tokens_scope", "managing tokens through a token needs its `tokens` scope"),
    ("token_team", "a token manages and makes tokens of its own team only"),
    ("token_scopes", "a token never makes or revokes a token with a scope it lacks"),
    ("token_expiry", "a token never makes a token that outlives it"),
]
