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
