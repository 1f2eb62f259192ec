"""Publishing one period of one task: fetch, validate, render, publish, record (DESIGN.md 4.5).

Every step is a plain function; a Prefect flow passes ``step`` to run each one as a Prefect task,
so the flow and a direct call share one code path. Invalid data or a source that is down publishes
nothing: the ledger gets a failed row with the reasons and the department a notice, together.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select

from gkflow.db.models import CaseRow, table_of
from gkflow.domain.errors import InvalidInput
from gkflow.publication import ledger
from gkflow.publication.annual import annual_rows
from gkflow.publication.config import PublicationConfig, TaskConfig, load_publication_config
from gkflow.publication.periods import Cadence, Period, due_date
from gkflow.publication.rendering import content_hash, plain, render
from gkflow.publication.siteindex import rebuild_site_index
from gkflow.publication.sources import SourceData, SourceUnavailable, expand, fetch
from gkflow.publication.targets import CmsTarget, Location, SiteTarget, TargetFailed
from gkflow.publication.tasks import TaskSpec, task_spec
from gkflow.publication.validation import Validated, validate
from gkflow.runtime import Runtime

T = TypeVar("T")


class Step(Protocol):
    """Runs one named stage of a publication: directly, or as a Prefect task (flows/publication.py)."""

    def __call__(self, name: str, fn: Callable[..., T], /) -> Callable[..., T]: ...


PROJECT_ITEM = "construction-project"


def direct(_name: str, fn: Callable[..., T], /) -> Callable[..., T]:
    """The stage itself, without orchestration."""
    return fn


@dataclass
class Outcome:
    task: str
    subject: str
    period: str
    status: str  # published | unchanged | failed
    formed_on: date
    due_on: date
    due_provisional: bool
    version: int | None = None
    published_at: datetime | None = None
    content_hash: str | None = None
    reasons: list[str] = field(default_factory=list)
    receipts: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    flow_run_id: str | None = None

    def to_dict(self, rt: Runtime) -> dict[str, Any]:
        data = asdict(self)
        data["formed_on"], data["due_on"] = self.formed_on.isoformat(), self.due_on.isoformat()
        data["published_at"] = (self.published_at.astimezone(rt.settings.tz).isoformat(timespec="seconds")
                                if self.published_at else None)
        published_on = ledger.published_on(rt, self.published_at)
        data["on_time"] = published_on <= self.due_on if published_on is not None else None
        # 第N版 as the public site numbers it (failed attempts also take ledger versions).
        data["edition"] = (ledger.edition(rt, self.task, self.subject, self.period) - 1
                           if self.status in ("published", "unchanged") else None)
        return data


def publish_period(
    rt: Runtime, task: str, period_text: str, *, subject: str = "", source: str | None = None,
    rows: list[dict[str, Any]] | None = None, trigger: str = "manual", flow_run_id: str | None = None,
    step: Step = direct, config: PublicationConfig | None = None,
) -> Outcome:
    """``source`` overrides the configured one (a file or URL); ``rows`` supplies the data itself
    (a milestone reported through a case)."""
    config = config or load_publication_config(rt.settings)
    spec, task_config = task_spec(task), config.task(task)
    period = spec.parse_period(period_text)
    if spec.per_subject and not subject:
        raise InvalidInput(f"{task} publishes per project: name one (--project)")
    started = rt.now()
    if period.last_day > rt.local_date(started):
        raise InvalidInput(f"{task} {period.label} is not formed yet: its data closes on "
                           f"{period.last_day.isoformat()}")
    due = due_date(period, rt.calendar)
    values = {
        "task": task, "subject": subject, "period": period.label, "formed_on": period.last_day,
        "due_on": due.date, "due_provisional": due.provisional, "started_at": started,
        "trigger": trigger, "flow_run_id": flow_run_id, "department": task_config.department,
    }
    outcome = Outcome(task, subject, period.label, "failed", period.last_day, due.date, due.provisional,
                      flow_run_id=flow_run_id)

    def fail(reasons: list[str], row_id: int | None = None,
             receipts: dict[str, Any] | None = None) -> Outcome:
        payload = {"task": task, "title": task_config.title, "subject": subject, "period": period.label,
                   "department": task_config.department, "formed_on": period.last_day.isoformat(),
                   "due_on": due.date.isoformat(), "published_at": None,
                   "occurred_at": rt.now().astimezone(rt.settings.tz).strftime("%Y-%m-%d %H:%M")}
        outcome.version = ledger.record_failed(
            rt, values, reasons, channel=config.staff.channel,
            recipient=config.staff.recipient(task_config.department), payload=payload, now=rt.now(),
            row_id=row_id, receipts=receipts)
        outcome.reasons, outcome.receipts = reasons, receipts or {}
        return outcome

    try:
        data = rows_given(rows) if rows is not None else step("fetch", fetch_rows)(
            rt, config, task_config, period, subject, source)
    except SourceUnavailable as exc:
        return fail([exc.message])
    values["source"] = data.description
    checked: Validated = step("validate", validate_rows)(spec, data.rows, period, subject)
    if not checked.ok:
        return fail(checked.reasons)
    schema_names = spec.schema.names
    digest = content_hash(task, subject, period.label,
                          [{n: plain(r.get(n)) for n in schema_names} for r in checked.rows])
    current = ledger.latest_published(rt, task, subject, period.label)
    if current is not None and current["content_hash"] == digest:
        outcome.status, outcome.version, outcome.content_hash = "unchanged", current["version"], digest
        outcome.published_at = current["published_at"]
        outcome.receipts = json.loads(current["receipts"])
        outcome.url = config.public_url + "/" + SiteTarget(config.site_dir).url_path(
            Location(task, subject, period.label))
        return outcome
    row_id, version = ledger.reserve(rt, values)
    where = Location(task, subject, period.label)
    site = SiteTarget(config.site_dir)
    history = _history(rt, config, task_config, spec) if spec.name == "fiscal-monthly" else _no_history
    try:
        rendered = step("render", render_period)(spec, task_config, checked.rows, period, subject,
                                                 ledger.edition(rt, task, subject, period.label), due,
                                                 where, history)
        receipts = step("publish", publish_targets)(config, task_config, site, where, version,
                                                    rendered.files, rendered.content_hash)
    except TargetFailed as exc:
        given = exc.details.get("receipts")
        return fail([exc.message], row_id, dict(given) if isinstance(given, Mapping) else {})
    except OSError as exc:
        return fail([f"writing the site folder failed: {exc}"], row_id)
    except Exception as exc:
        fail([f"internal error while rendering: {type(exc).__name__}: {exc}"], row_id)
        raise
    now = rt.now()
    ledger.finish_published(rt, row_id, task=task, subject=subject, period=period.label,
                            content_hash=rendered.content_hash, receipts=receipts, now=now)
    rebuild_site_index(rt, config)
    outcome.status, outcome.version, outcome.published_at = "published", version, now
    outcome.content_hash, outcome.receipts = rendered.content_hash, receipts
    outcome.url = config.public_url + "/" + site.url_path(where)
    return outcome


def rows_given(rows: list[dict[str, Any]]) -> SourceData:
    return SourceData([{k: "" if v is None else str(v) for k, v in r.items()} for r in rows],
                      "reported through gkflow")


def fetch_rows(rt: Runtime, config: PublicationConfig, task_config: TaskConfig, period: Period,
               subject: str, source: str | None) -> SourceData:
    if task_config.source.type == "cases" and source is None:
        return annual_rows(rt, task_config.source.location, period)
    if task_config.source.type == "computed" and source is None:
        raise SourceUnavailable(f"{task_config.name} is computed by gkflow: run it through its flow "
                                "(gkflow publish run, or the schedule), which supplies the rows")
    location = source or expand(task_config.source.location, period.label, subject)
    if not location.startswith(("http://", "https://")):
        location = str(config.resolve(location))
    data = fetch(location, timeout=task_config.source.timeout_seconds)
    if subject:
        chosen = [r for r in data.rows if str(r.get("project_code", "")).strip() == subject]
        if not chosen:
            raise SourceUnavailable(f"{data.description} has no row for project {subject}")
        return SourceData(chosen, data.description)
    return data


def validate_rows(spec: TaskSpec, raw_rows: list[dict[str, Any]], period: Period,
                  subject: str) -> Validated:
    return validate(spec.schema, raw_rows, period)


def _no_history(_period: Period) -> list[dict[str, Any]] | None:
    return None


def _history(rt: Runtime, config: PublicationConfig, task_config: TaskConfig,
             spec: TaskSpec) -> Callable[[Period], list[dict[str, Any]] | None]:
    """Earlier periods' rows for a chart, read from the same source; an unreadable one is left out."""

    def earlier(period: Period) -> list[dict[str, Any]] | None:
        try:
            data = fetch_rows(rt, config, task_config, period, "", None)
        except SourceUnavailable:
            return None
        checked = validate(spec.schema, data.rows, period)
        return checked.rows if checked.ok else None

    return earlier


def render_period(spec: TaskSpec, task_config: TaskConfig, rows: list[dict[str, Any]], period: Period,
                  subject: str, edition: int, due: Any, where: Location,
                  history: Callable[[Period], list[dict[str, Any]] | None]) -> Any:
    page = {
        "task": spec.name, "subject": subject, "period": period.label, "title": task_config.title,
        "department": task_config.department, "formed_on": period.last_day.isoformat(),
        "due_on": due.date.isoformat(), "due_provisional": due.provisional, "edition": edition,
        "period_label": _period_label(period),
        "subject_name": rows[0].get("project_name", "") if subject else "",
        "site_root": "/gk/", "history_href": "/gk/" + "/".join(where.parts) + "/versions/",
    }
    return render(spec.template, spec.schema, rows, page, spec.build_context(rows, period, history))


def _period_label(period: Period) -> str:
    first = period.first_day
    if period.cadence is Cadence.MONTHLY:
        return f"{first.year}年{first.month}月"
    if period.cadence is Cadence.QUARTERLY:
        return f"{first.year}年第{(first.month - 1) // 3 + 1}季度"
    if period.cadence is Cadence.ANNUAL:
        return f"{first.year}年度"
    return f"{first.year}年{first.month}月{first.day}日"


def publish_targets(config: PublicationConfig, task_config: TaskConfig, site: SiteTarget, where: Location,
                    version: int, files: dict[str, bytes], digest: str) -> dict[str, Any]:
    """The CMS first: if it refuses, the site is left as it was and the run fails as a whole."""
    receipts: dict[str, Any] = {}
    staged = site.stage(where, version, files)
    if config.cms is not None and task_config.cms:
        try:
            receipts["cms"] = CmsTarget(config.cms).publish(where, version, task_config.title, files, digest)
        except TargetFailed as exc:
            shutil.rmtree(staged, ignore_errors=True)
            raise TargetFailed(exc.message, receipts={"cms": {"ok": False, "error": exc.message}}) from None
    receipts["site"] = site.switch(where, version)
    return receipts


# -- construction projects ---------------------------------------------------------------------


def active_projects(rt: Runtime) -> dict[str, str]:
    """Open construction-project cases: project code -> case number."""
    cases_t = table_of(CaseRow)
    with rt.engine.connect() as conn:
        found = conn.execute(
            select(cases_t.c.case_no, cases_t.c.fields)
            .where(cases_t.c.item_code == PROJECT_ITEM, cases_t.c.closed_at.is_(None))
        ).all()
    projects = {}
    for case_no, fields in found:
        code = str(json.loads(fields or "{}").get("project_code") or case_no).strip()
        projects[code] = case_no
    return projects


def project_spans(rt: Runtime) -> dict[str, tuple[date, date | None]]:
    """Every construction project ever registered: code -> (received on, closed on or None), local
    dates, so periodic progress is expected only while a project ran."""
    cases_t = table_of(CaseRow)
    with rt.engine.connect() as conn:
        found = conn.execute(
            select(cases_t.c.case_no, cases_t.c.fields, cases_t.c.received_on, cases_t.c.closed_at)
            .where(cases_t.c.item_code == PROJECT_ITEM)
        ).all()
    spans = {}
    for case_no, fields, received_on, closed_at in found:
        code = str(json.loads(fields or "{}").get("project_code") or case_no).strip()
        spans[code] = (received_on, rt.local_date(closed_at) if closed_at else None)
    return spans


def projects_for_month(rt: Runtime, config: PublicationConfig, period: Period,
                       source: str | None = None) -> list[str]:
    """Every active project, plus every project the month's source reports on."""
    projects = set(active_projects(rt))
    task_config = config.task("construction-progress")
    try:
        data = fetch_rows(rt, config, task_config, period, "", source)
        projects |= {str(r.get("project_code", "")).strip() for r in data.rows if r.get("project_code")}
    except SourceUnavailable:
        pass  # each active project then fails with the reason and its department is told
    return sorted(projects)


def publish_task_period(rt: Runtime, task: str, period_text: str, *, subject: str = "",
                        source: str | None = None, trigger: str = "manual", flow_run_id: str | None = None,
                        step: Step = direct, rows: list[dict[str, Any]] | None = None) -> list[Outcome]:
    """One period of a task; for construction-progress without a project, every project."""
    config = load_publication_config(rt.settings)
    spec = task_spec(task)
    if spec.per_subject and not subject:
        period = spec.parse_period(period_text)
        if period.cadence is not Cadence.MONTHLY:
            raise InvalidInput("a milestone publication names its project (--project)")
        subjects = projects_for_month(rt, config, period, source)
        if not subjects:
            raise InvalidInput(f"no active construction project and no source rows for {period.label}")
        return [publish_period(rt, task, period_text, subject=s, source=source, trigger=trigger,
                               flow_run_id=flow_run_id, step=step, config=config) for s in subjects]
    return [publish_period(rt, task, period_text, subject=subject, source=source, trigger=trigger,
                           flow_run_id=flow_run_id, step=step, config=config, rows=rows)]
