"""The one error shape in the OpenAPI description: every answer an operation can give is listed there.

``error_responses(*codes)`` builds the ``responses=`` of a route (or a router) from one table, each with the error
model below, so a status code is documented the same way everywhere. 401, 403 and 503 are added to every /api/v1
route by ``app.api.router``; a route names the others it can give (400 malformed body, 404 unknown id, 409 conflict,
422 invalid input). In core, because the routers under /api/v1 (requests, audit, jobs, models) all use it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.core.handlers import error_body


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: not_found, validation_error, conflict, ...")
    message: str = Field(description="For people; never quotes personal data.")
    details: Any = Field(default=None, description="Where it helps: the field at fault, allowed values, ...")


class ErrorResponse(BaseModel):
    """The one error shape of the API: ``{"error": {"code", "message", "details"}}``."""

    error: ErrorDetail


_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("The body could not be read (not UTF-8 or not JSON).",
          error_body("bad_request", "There was an error parsing the body")),
    401: ("No API key, or an invalid or revoked one.",
          error_body("unauthorized", "An API key is required: send 'Authorization: Bearer <key>'.")),
    403: ("The API key lacks the scope this operation needs.",
          error_body("forbidden", "This API key lacks the required scope (requests:read).",
                     {"required_any_of": ["requests:read"]})),
    404: ("No such request, job or model.", error_body("not_found", "No such job.", {"job_id": "..."})),
    409: ("Not possible in the current state (an illegal transition, or a conflict with other data or a job).",
          error_body("illegal_transition", "Discovery cannot run on a request that is denied.",
                     {"status": "denied"})),
    422: ("Invalid input: the body, a parameter, or a value the server checks (such as a path that must exist).",
          error_body("validation_error", "The request is invalid.",
                     [{"loc": ["body", "reason"], "msg": "String should have at least 1 character",
                       "type": "string_too_short"}])),
    503: ("The database could not do the work in time (it is busy, code unavailable) or cannot be reached (code "
          "database_unavailable): nothing was saved; send the same request again after Retry-After seconds.",
          error_body("unavailable", "The service is busy and nothing was saved: please try again in a few seconds.",
                     {"reason": "lock_timeout"})),
}
_HEADERS: dict[int, dict[str, Any]] = {
    503: {"Retry-After": {"description": "Seconds to wait before sending the request again.",
                          "schema": {"type": "integer", "minimum": 1}}},
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or a router: each code with the error model, a description and an example."""
    return {code: {"model": ErrorResponse, "description": _ERRORS[code][0],
                   "content": {"application/json": {"example": _ERRORS[code][1]}},
                   **({"headers": _HEADERS[code]} if code in _HEADERS else {})}
            for code in codes}


# Every /api/v1 operation takes an API key, looked up in the database, so each can also meet a busy database (503):
# added once, by the /api/v1 router.
AUTH_ERRORS = error_responses(401, 403, 503)
# An operation on one resource named in the path; ``WRITE_ERRORS``: one that also takes a JSON body.
ITEM_ERRORS = error_responses(404, 422)
WRITE_ERRORS = error_responses(400, 404, 409, 422)
