"""A department's record of a publication it made itself (where and when, with evidence): a
period of a periodic entry, or an event or change it names; checked, then written in one transaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError

from gkflow.db.engine import write_connection
from gkflow.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from gkflow.domain.openness import CadenceKind, PeriodKind
from gkflow.publication.periods import parse_period
from gkflow.runtime import Runtime
from gkflow.services.directory_models import LedgerRowView
from gkflow.services.openness import load_directory
from gkflow.services.openness_ledger import PERIOD_CADENCE, close_row, ledger, open_event_row, owed_periods


def record_publication(
    rt: Runtime,
    entry_code: str,
    subject: str,
    *,
    published_on: date,
    url: str,
    user: str,
    department: str | None,
    is_admin: bool,
    formed_on: date | None = None,
    evidence: tuple[str, str] | None = None,
    note: str | None = None,
) -> LedgerRowView:
    """A department's record of where and when it published a period, an event or a change."""
    directory = load_directory(rt.settings)
    entry = directory.latest(entry_code)
    if not is_admin and department != entry.department:
        raise Forbidden(
            f"只有{entry.department}或管理员可以登记该事项 (only {entry.department} or an "
            "administrator may record this entry)"
        )
    if entry.automated:
        raise InvalidInput(
            "该事项由系统自动发布并登记，无需人工登记 (this entry is published by gkflow itself)"
        )
    today = rt.local_date(rt.now())
    subject = subject.strip()
    if entry.cadence.kind is CadenceKind.PERIODIC:
        if subject not in owed_periods(directory, entry, today):
            raise InvalidInput(
                f"'{subject}' 不是该事项已形成的公开期间 (not a formed period of {entry_code} "
                "since its effective date)",
                fields=["subject"],
            )
        formed_on = parse_period(PERIOD_CADENCE[entry.cadence.period or PeriodKind.MONTHLY], subject).last_day
    elif formed_on is None:
        raise InvalidInput(
            "请填写信息形成（事件发生、变更）的日期 (formed_on is required)", fields=["formed_on"]
        )
    elif not subject or len(subject) > 100:
        raise InvalidInput(
            "请用100字以内写明本次公开的内容 (name what was published, at most 100 characters)",
            fields=["subject"],
        )
    version = directory.in_force(entry_code, formed_on)
    if version is None or formed_on > today:
        raise InvalidInput(
            f"形成日期须在{directory.first(entry_code).effective_from}至今天之间 "
            "(formed_on must lie between the entry's effective date and today)",
            fields=["formed_on"],
        )
    if published_on < formed_on or published_on > today:
        raise InvalidInput(
            "发布日期须在形成日期至今天之间 (published_on must lie between formed_on and today)",
            fields=["published_on"],
        )
    url = url.strip()
    if not url.startswith(("http://", "https://")) or len(url) > 500:
        raise InvalidInput(
            "请填写发布页面的网址（http:// 或 https://）(url must be an http(s) address)", fields=["url"]
        )
    now = rt.now()
    due = version.time_limit.due(formed_on, rt.calendar)
    try:
        with write_connection(rt.engine) as conn, conn.begin():
            row_id = open_event_row(
                conn,
                version,
                subject=subject,
                formed_on=formed_on,
                due=due,
                at=now,
                actor=user,
                title=subject if entry.cadence.kind is not CadenceKind.PERIODIC else "",
            )
            close_row(
                conn,
                row_id,
                published_on=published_on,
                at=now,
                url=url,
                recorded_by=user,
                evidence=evidence,
                note=(note or "").strip()[:2000] or None,
            )
    except IntegrityError:
        raise Conflict("该期间刚被他人登记，请刷新 (someone recorded this row meanwhile; reload)") from None
    found = [r for r in ledger(rt, entry=entry_code, today=today) if r.subject == subject]
    if not found:
        raise NotFound(f"ledger row {entry_code} {subject} vanished")
    return found[0]
