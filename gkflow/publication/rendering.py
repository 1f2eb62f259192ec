"""Rendering a validated period: an HTML page for the website column and open-data files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gkflow.publication.validation import Schema

TEMPLATES = Path(__file__).parent / "templates"
_JSON_TYPES = {"str": "string", "int": "integer", "decimal": "number", "date": "string"}


@dataclass(frozen=True)
class Rendered:
    files: dict[str, bytes]  # file name -> content
    content_hash: str  # of the data alone, so an unchanged re-run is recognised


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["money"] = lambda v: "" if v is None else f"{v:,.2f}"
    env.filters["num"] = lambda v: "" if v is None else f"{v:,}"
    return env


def plain(value: Any) -> Any:
    """A value as open data: numbers stay numbers, dates are ISO strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def content_hash(task: str, subject: str, period: str, rows: list[dict[str, Any]]) -> str:
    body = json.dumps([task, subject, period, rows], ensure_ascii=False, sort_keys=True, default=str,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def json_schema(schema: Schema, title: str) -> dict[str, Any]:
    properties = {}
    for column in schema.columns:
        prop: dict[str, Any] = {"description": column.label, "type": _JSON_TYPES[column.type]}
        if column.type == "date":
            prop["format"] = "date"
        if column.choices:
            prop["enum"] = list(column.choices)
        if not column.required:
            prop["type"] = [prop["type"], "null"]
            prop.pop("enum", None)
        properties[column.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": ["task", "period", "formed_on", "due_on", "rows"],
        "properties": {
            "task": {"type": "string"}, "subject": {"type": "string"}, "period": {"type": "string"},
            "title": {"type": "string"},
            "formed_on": {"type": "string", "format": "date"},
            "due_on": {"type": "string", "format": "date"},
            "rows": {"type": "array", "items": {
                "type": "object", "additionalProperties": False, "properties": properties,
                "required": [c.name for c in schema.columns],
            }},
        },
    }


# A cell a spreadsheet would run as a formula (=HYPERLINK(…), +cmd, -1+1, @SUM, or after a tab or
# carriage return) is written with a leading apostrophe, as OWASP advises; numbers stay numbers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet program evaluates as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def render_csv(schema: Schema, rows: list[dict[str, Any]]) -> bytes:
    """data.csv: a header of column names, one line per row, formulas defused, with a BOM."""
    out = io.StringIO()
    # CRLF as RFC 4180 writes it; the csv module then also quotes a cell holding a bare CR or LF.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(schema.names)
    names = schema.names
    writer.writerows([["" if row.get(n) is None else spreadsheet_safe(plain(row[n])) for n in names]
                      for row in rows])
    # A BOM so that spreadsheet programs open the Chinese text as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render(template: str, schema: Schema, rows: list[dict[str, Any]], page: dict[str, Any],
           context: dict[str, Any]) -> Rendered:
    """``page``: task, subject, period, title, department, formed_on, due_on (the ledger's facts)."""
    open_rows = [{n: plain(row.get(n)) for n in schema.names} for row in rows]
    digest = content_hash(page["task"], page["subject"], page["period"], open_rows)
    html = environment().get_template(template).render(
        page=page, rows=rows, columns=schema.columns, **context,
    )
    data = {
        "task": page["task"], "subject": page["subject"], "period": page["period"],
        "title": page["title"], "formed_on": page["formed_on"], "due_on": page["due_on"],
        "rows": open_rows,
    }
    files = {
        "index.html": html.encode("utf-8"),
        "data.csv": render_csv(schema, rows),
        "data.json": json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"),
        "schema.json": json.dumps(json_schema(schema, page["title"]), ensure_ascii=False,
                                  indent=1).encode("utf-8"),
    }
    return Rendered(files, digest)
