"""Domain errors: services raise them, one handler renders them (JSON under /api, HTML pages elsewhere)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code: int = 400
    code: str = "bad_request"
    # When True the request-scoped session commits the work done before the error (e.g. a counted wrong
    # one-time code) instead of rolling it back.
    keep_changes: bool = False

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class IllegalTransition(DomainError):
    status_code = 409
    code = "illegal_transition"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class InvalidInput(DomainError):
    status_code = 422
    code = "validation_error"


class CodeRejected(InvalidInput):
    """A wrong, expired or exhausted one-time code: the attempt itself must be recorded."""

    code = "invalid_code"
    keep_changes = True


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"


class Unavailable(DomainError):
    """The database could not do the work in time (a lock or statement timeout, no free connection) or could not be
    reached (code ``database_unavailable``). The work was rolled back, so the same request can simply be sent again
    after ``retry_after`` seconds."""

    status_code = 503
    code = "unavailable"
    retry_after = 2
