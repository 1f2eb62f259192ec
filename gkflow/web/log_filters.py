"""Keep query codes out of every log: uvicorn's access log prints the request line, and old links
still carry ``?code=``; the filter masks it before any handler formats the record."""

from __future__ import annotations

import logging
import re

_CODE = re.compile(r"(?i)([?&](?:code|query_code)=)[^&\s\"]*")


def mask_codes(text: str) -> str:
    """``text`` with the value of every code= query parameter replaced by ***."""
    return _CODE.sub(r"\1***", text)


class QueryCodeFilter(logging.Filter):
    """Masks code= in a record's message and arguments (uvicorn passes the path as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_codes(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = mask_codes(record.msg)
        return True


def install_log_filters() -> None:
    """Attach the filter to uvicorn's access and error loggers (idempotent)."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QueryCodeFilter) for f in logger.filters):
            logger.addFilter(QueryCodeFilter())
