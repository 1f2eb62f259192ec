"""Fetching a period's source data: a file dropped in a folder (CSV or XLSX) or an HTTP JSON endpoint."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gkflow.domain.errors import GkflowError


class SourceUnavailable(GkflowError):
    """The source could not be read: missing file, server down, not JSON. Nothing is published."""

    code = "invalid_input"


@dataclass(frozen=True)
class SourceData:
    rows: list[dict[str, Any]]
    description: str  # the file path or URL actually read


def expand(location: str, period: str, subject: str = "") -> str:
    return location.replace("{period}", period).replace("{subject}", subject)


def fetch(location: str, *, timeout: float = 10.0) -> SourceData:
    """Read rows from a path (a glob is allowed: exactly one match) or an http(s) URL."""
    if location.startswith(("http://", "https://")):
        return fetch_http(location, timeout=timeout)
    return read_file(Path(location))


def read_file(path: Path) -> SourceData:
    if any(ch in path.name for ch in "*?["):
        matches = sorted(p for p in path.parent.glob(path.name) if p.suffix.lower() in (".csv", ".xlsx"))
        if not matches:
            raise SourceUnavailable(f"no source file matches {path}")
        if len(matches) > 1:
            names = ", ".join(m.name for m in matches)
            raise SourceUnavailable(f"more than one source file matches {path}: {names}")
        path = matches[0]
    if not path.is_file():
        raise SourceUnavailable(f"source file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return SourceData(read_csv(path.read_bytes()), str(path))
    if suffix == ".xlsx":
        return SourceData(read_xlsx(path), str(path))
    raise SourceUnavailable(f"{path}: only .csv and .xlsx files are read")


def read_csv(raw: bytes) -> list[dict[str, Any]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceUnavailable("the CSV file is not UTF-8 (save it as “CSV UTF-8”)") from None
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for row in reader:
        if None in row:
            raise SourceUnavailable(f"CSV line {reader.line_num} has more cells than the header")
        rows.append({k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items()})
    return rows


def read_xlsx(path: Path) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise SourceUnavailable(f"{path}: not a readable XLSX file ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header = next(values, None)
        if not header:
            return []
        names = [str(h).strip() if h is not None else "" for h in header]
        rows = []
        for raw in values:
            if raw is None or all(cell is None or cell == "" for cell in raw):
                continue
            rows.append({name: _cell(cell) for name, cell in zip(names, raw, strict=False) if name})
        return rows
    finally:
        workbook.close()


def _cell(value: Any) -> Any:
    from datetime import datetime

    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def fetch_http(url: str, *, timeout: float) -> SourceData:
    import requests

    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise SourceUnavailable(f"source {url} is unreachable: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise SourceUnavailable(f"source {url} answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise SourceUnavailable(f"source {url} did not answer JSON") from None
    rows = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise SourceUnavailable(f"source {url}: expected a JSON list of objects (or {{\"rows\": [...]}})")
    return SourceData([{k: "" if v is None else str(v) for k, v in r.items()} for r in rows], url)
