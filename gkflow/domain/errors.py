"""The error vocabulary shared by the CLI and the HTTP API (DESIGN.md section 6)."""

from __future__ import annotations


class GkflowError(Exception):
    """Base class: every error a user can cause carries a stable code and a clear message."""

    code = "invalid_input"
    http_status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class NotFound(GkflowError):
    code = "not_found"
    http_status = 404


class TransitionNotAllowed(GkflowError):
    code = "transition_not_allowed"
    http_status = 409


class Forbidden(GkflowError):
    code = "forbidden"
    http_status = 403


class Conflict(GkflowError):
    code = "conflict"
    http_status = 409


class InvalidInput(GkflowError):
    code = "invalid_input"
    http_status = 422


class CalendarUnknownYear(GkflowError):
    code = "calendar_unknown_year"
    http_status = 422


class InvalidConfig(GkflowError):
    code = "invalid_config"
    http_status = 500
