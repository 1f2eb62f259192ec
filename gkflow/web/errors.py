"""How domain errors answer over HTTP: the status of each error class (the domain knows no HTTP)."""

from __future__ import annotations

from gkflow.domain.errors import (
    CalendarUnknownYear,
    Conflict,
    CorruptRecord,
    Forbidden,
    GkflowError,
    InvalidConfig,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    TransitionNotAllowed,
    Unauthenticated,
)

# Most specific first: Unauthenticated is a Forbidden that answers 401.
_STATUS: tuple[tuple[type[GkflowError], int], ...] = (
    (Unauthenticated, 401),
    (NotFound, 404),
    (TransitionNotAllowed, 409),
    (Conflict, 409),
    (Forbidden, 403),
    (TooLarge, 413),
    (InvalidInput, 422),
    (CalendarUnknownYear, 422),
    (RateLimited, 429),
    (InvalidConfig, 500),
    (CorruptRecord, 500),
)


def error_headers(error: GkflowError) -> dict[str, str]:
    """Headers an error answer carries: ``Retry-After`` (seconds) for RateLimited."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return {"Retry-After": str(error.retry_after)}
    return {}


def http_status(error: GkflowError) -> int:
    """The HTTP status that answers ``error`` (400 for any other GkflowError)."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400
