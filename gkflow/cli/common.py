"""CLI plumbing shared by every command: JSON or text output, errors as a clear line (or the JSON
error shape) and a non-zero exit, argument parsers, the runtime."""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError, ProgrammingError

from gkflow.domain.bounds import check_date, check_text
from gkflow.domain.errors import GkflowError, InvalidConfig, InvalidInput
from gkflow.domain.masking import mask_personal_text

if TYPE_CHECKING:
    from gkflow.runtime import Runtime

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
F = TypeVar("F", bound=Callable[..., Any])


def plain_data(data: Any) -> Any:
    """JSON-ready data: typed read models become the same objects the HTTP API answers with."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    if isinstance(data, list):
        return [plain_data(d) for d in data]
    return data


def emit(data: Any, as_json: bool, text: str | Callable[[], str] | None = None) -> None:
    """Print ``data`` as JSON (--json) or as ``text`` (a string or a function making one)."""
    data = plain_data(data)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text() if callable(text) else (text if text is not None else _plain(data)))


def _plain(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def handles_errors(func: F) -> F:
    """Turn GkflowError into a clear message (or the JSON error shape) and a non-zero exit; anything
    unexpected too (code ``internal_error``, its masked traceback on stderr), never a bare traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                _check_arguments(kwargs)
                return func(*args, **kwargs)
            except (OperationalError, ProgrammingError) as exc:
                raise _database_error(exc) from exc
        except GkflowError as exc:
            _report(exc.to_dict(), f"error [{exc.code}]: {exc.message}", bool(kwargs.get("json_")))
            raise typer.Exit(code=1) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:  # noqa: BLE001 - the last resort: a clear line, not a traceback
            sys.stderr.write(mask_personal_text("".join(traceback.format_exception(exc))))
            message = mask_personal_text(f"unexpected error ({type(exc).__name__}): {exc}")
            _report({"error": {"code": "internal_error", "message": message}},
                    f"error [internal_error]: {message}", bool(kwargs.get("json_")))
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


def _check_arguments(kwargs: dict[str, Any]) -> None:
    """Every text argument of a command within the input bounds (no control characters)."""
    for name, value in kwargs.items():
        for text in value if isinstance(value, list) else [value]:
            check_text(text, "--" + name.rstrip("_").replace("_", "-"))


def _report(body: dict[str, Any], text: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(body, ensure_ascii=False, default=str))
    else:
        typer.echo(text, err=True)


def _database_error(exc: Exception) -> GkflowError:
    """A missing table means `gkflow init` was not run; anything else is reported as it is."""
    text = str(getattr(exc, "orig", exc))
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return InvalidConfig(f"the database is not initialised ({text.splitlines()[0]}): run `gkflow init`")
    return InvalidConfig(f"database error: {text.splitlines()[0] if text else type(exc).__name__}")


def runtime() -> Runtime:
    """The runtime from the environment (imported late: `gkflow --help` needs no database)."""
    from gkflow.runtime import runtime_from_env

    return runtime_from_env()


def parse_fields(values: list[str] | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for value in values or []:
        if "=" not in value:
            raise InvalidInput(f"--field expects key=value, got '{value}'")
        key, _, val = value.partition("=")
        check_text(key, "--field")
        check_text(val, f"--field {key.strip()}")
        fields[key.strip()] = val
    return fields


def parse_time(value: str | None, rt: Runtime) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not an ISO date-time: '{value}' (e.g. 2026-02-10T09:30)") from None
    check_date(parsed, "time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=rt.settings.tz)
    return parsed


def parse_date(value: str) -> date:
    """A YYYY-MM-DD option; InvalidInput otherwise."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"not a date: '{value}' (YYYY-MM-DD)") from None
