"""The error vocabulary shared by the CLI and the HTTP API (DESIGN.md section 6).

    GkflowError                  every error a user can cause: a stable code and a clear message
    ├── NotFound                 not_found: no such case, item, version or record
    ├── TransitionNotAllowed     transition_not_allowed: wrong state, a closed case, a second extension
    ├── Forbidden                forbidden: role, department, CSRF
    │   └── Unauthenticated      forbidden: no or unknown credentials
    │       └── PhoneUnverified  phone_unverified: an anonymous submission without a verified phone
    ├── Conflict                 conflict: a stale version, someone acted first
    ├── InvalidInput             invalid_input: a bad field, named in the message
    │   └── TooLarge             too_large: a body, a file or a case's files over their limit
    ├── CalendarUnknownYear      calendar_unknown_year: a date the calendar cannot count
    ├── RateLimited              rate_limited: too many failures (with the seconds to wait)
    ├── InvalidConfig            invalid_config: a config file, a missing key, the database not initialised
    └── CorruptRecord            corrupt_record: a stored row that its history or item cannot explain

The entry points map these to exit codes (CLI) and statuses (gkflow.web.errors).
"""

from __future__ import annotations


class GkflowError(Exception):
    """Base class: every error a user can cause carries a stable code and a clear message."""

    code = "invalid_input"

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


class TransitionNotAllowed(GkflowError):
    code = "transition_not_allowed"


class Forbidden(GkflowError):
    code = "forbidden"


class Conflict(GkflowError):
    code = "conflict"


class InvalidInput(GkflowError):
    code = "invalid_input"


class CalendarUnknownYear(GkflowError):
    code = "calendar_unknown_year"


class RateLimited(GkflowError):
    """Too many failures; ``retry_after`` says in how many seconds to try again (HTTP Retry-After)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class Unauthenticated(Forbidden):
    """No credentials, or unknown ones (the HTTP answer is 401 with code ``forbidden``)."""


class PhoneUnverified(Unauthenticated):
    """An anonymous online submission without a live phone verification token (401)."""

    code = "phone_unverified"


class TooLarge(InvalidInput):
    """A request body, an uploaded file or a case's files over their limit (413)."""

    code = "too_large"


class InvalidConfig(GkflowError):
    code = "invalid_config"


class CorruptRecord(GkflowError):
    """A stored case row that its item or its history cannot explain (edited outside gkflow):
    reported with the case and the field, never as a traceback (HTTP 500: the server's data)."""

    code = "corrupt_record"
